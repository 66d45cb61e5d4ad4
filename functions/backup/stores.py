"""Object stores behind target URIs: ``file://``, ``s3://``, ``azblob://``, ``gs://``.

Each store sees keys relative to the URI's prefix and does whole-object put/get: chunks are a few MiB,
so a single PUT per chunk streams the backup out "as it goes" without multipart bookkeeping, and a
crashed run leaves only chunk objects (never a manifest). Cloud SDKs are imported lazily.

Endpoints and credentials come from each SDK's usual environment: ``AWS_ENDPOINT_URL`` / AWS credential
chain for S3; for Azure ``AZURE_STORAGE_CONNECTION_STRING`` (shared key: Azurite, or a vault that
allows it) or else ``AZURE_STORAGE_ACCOUNT_URL`` with ``azure.identity.DefaultAzureCredential`` (managed
identity / workload identity: the vault disables shared keys); ``STORAGE_EMULATOR_HOST`` or application
default credentials for GCS.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from functions.backup.defaults import LOCK_MODES
from functions.backup.errors import BackupError, UsageError

SCHEMES = ("file", "s3", "azblob", "gs")
AZURE_CONN_ENV = "AZURE_STORAGE_CONNECTION_STRING"
AZURE_URL_ENV = "AZURE_STORAGE_ACCOUNT_URL"


class NotFoundError(BackupError):
    """The object does not exist in this store."""


class ObjectStore(Protocol):
    uri: str

    def put(
        self, key: str, data: bytes, *, lock_until: dt.datetime | None = None, lock_mode: str = "COMPLIANCE"
    ) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def delete(self, key: str) -> None: ...

    def lock_until(self, key: str) -> dt.datetime | None: ...

    def check(self, *, require_versioning: bool, require_lock: bool) -> None: ...


def _join(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if prefix else key


class FileStore:
    """A directory tree; writes go to a temporary name then rename, so a reader never sees half an object."""

    def __init__(self, uri: str, root: Path) -> None:
        self.uri = uri
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    def put(
        self, key: str, data: bytes, *, lock_until: dt.datetime | None = None, lock_mode: str = "COMPLIANCE"
    ) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            with tmp.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
        except OSError as err:
            raise BackupError(f"{self.uri}: cannot write {key}: {err.strerror}") from None

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{self.uri}: {key} not found") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.endswith(".tmp"):
                yield path.relative_to(self.root).as_posix()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def lock_until(self, key: str) -> dt.datetime | None:
        return None

    def check(self, *, require_versioning: bool, require_lock: bool) -> None:
        if require_lock:
            raise UsageError(f"{self.uri}: object lock requested but file:// targets cannot hold locks")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BackupError(f"{self.uri}: cannot create directory: {err.strerror}") from None


class S3Store:
    def __init__(self, uri: str, bucket: str, prefix: str, client: Any = None) -> None:
        self.uri = uri
        self.bucket = bucket
        self.prefix = prefix
        self._client = client

    @property
    def s3(self) -> Any:
        if self._client is None:
            from boto3.session import Session
            from botocore.config import Config

            # A fresh session per store: the default session caches credentials across calls.
            self._client = Session().client(
                "s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16)
            )
        return self._client

    def _fail(self, err: Exception, what: str) -> BackupError:
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(err, NoCredentialsError):
            return BackupError(f"{self.uri}: no AWS credentials found ({what})")
        if isinstance(err, ClientError):
            code = err.response.get("Error", {}).get("Code", "?")
            if code in ("NoSuchKey", "404", "NotFoundError"):
                return NotFoundError(f"{self.uri}: {what}: not found")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
                return BackupError(f"{self.uri}: credentials rejected ({code}) during {what}")
            if code == "NoSuchBucket":
                return BackupError(f"{self.uri}: bucket {self.bucket!r} does not exist")
            return BackupError(f"{self.uri}: {what} failed: {code}: {err}")
        return BackupError(f"{self.uri}: {what} failed: {err}")

    def put(
        self, key: str, data: bytes, *, lock_until: dt.datetime | None = None, lock_mode: str = "COMPLIANCE"
    ) -> None:
        extra: dict[str, Any] = {}
        if lock_until is not None:
            if lock_mode not in LOCK_MODES:
                raise UsageError(f"--lock-mode {lock_mode}: allowed: {', '.join(LOCK_MODES)}")
            extra = {"ObjectLockMode": lock_mode, "ObjectLockRetainUntilDate": lock_until}
        try:
            self.s3.put_object(Bucket=self.bucket, Key=_join(self.prefix, key), Body=data, **extra)
        except Exception as err:
            raise self._fail(err, f"put {key}") from None

    def get(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=_join(self.prefix, key))["Body"].read()
        except Exception as err:
            raise self._fail(err, f"get {key}") from None

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=_join(self.prefix, key))
        except Exception as err:
            failure = self._fail(err, f"head {key}")
            if isinstance(failure, NotFoundError):
                return False
            raise failure from None
        return True

    def list(self, prefix: str) -> Iterator[str]:
        full = _join(self.prefix, prefix)
        cut = len(self.prefix) + 1 if self.prefix else 0
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    yield obj["Key"][cut:]
        except Exception as err:
            raise self._fail(err, f"list {prefix or '/'}") from None

    def delete(self, key: str) -> None:
        """Deletes every version (a plain delete on a versioned bucket only adds a delete marker)."""
        full = _join(self.prefix, key)
        try:
            pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=full)
            for page in pages:
                for ver in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if ver["Key"] == full:
                        self.s3.delete_object(Bucket=self.bucket, Key=full, VersionId=ver["VersionId"])
        except Exception as err:
            raise self._fail(err, f"delete {key}") from None

    def lock_until(self, key: str) -> dt.datetime | None:
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=_join(self.prefix, key))
        except Exception as err:
            raise self._fail(err, f"head {key}") from None
        if head.get("ObjectLockLegalHoldStatus") == "ON":
            return dt.datetime.max.replace(tzinfo=dt.UTC)
        until = head.get("ObjectLockRetainUntilDate")
        return until if isinstance(until, dt.datetime) else None

    def check(self, *, require_versioning: bool, require_lock: bool) -> None:
        from botocore.exceptions import ClientError

        try:
            status = self.s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except Exception as err:
            raise self._fail(err, "get bucket versioning") from None
        if require_versioning and status != "Enabled":
            raise BackupError(
                f"{self.uri}: bucket {self.bucket!r} has versioning {status or 'off'}; this backup class "
                "requires versioning (enable it, or pass --no-require-versioning)"
            )
        if require_lock:
            try:
                conf = self.s3.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
            except ClientError:
                conf = {}
            if conf.get("ObjectLockEnabled") != "Enabled":
                raise BackupError(
                    f"{self.uri}: bucket {self.bucket!r} has no object lock; --lock-days needs a bucket "
                    "created with object lock enabled"
                )


def azure_service_client(uri: str, environ: Mapping[str, str] | None = None) -> Any:
    """The BlobServiceClient for an azblob:// target, from the environment.

    A connection string wins (shared key or SAS: Azurite, or an account that allows it); otherwise the
    account URL with ``DefaultAzureCredential``, which picks up the AKS/EKS workload identity (federated
    token file + client id), a managed identity, or a developer login. The vault disables shared-key
    access, so the jobs set only the URL. ``azure.identity`` is imported only on that path.
    """
    env = os.environ if environ is None else environ
    from azure.storage.blob import BlobServiceClient

    conn = env.get(AZURE_CONN_ENV)
    if conn:
        return BlobServiceClient.from_connection_string(conn)
    url = env.get(AZURE_URL_ENV)
    if not url:
        raise BackupError(
            f"{uri}: azblob:// targets need {AZURE_URL_ENV} (https://<account>.blob.core.windows.net, "
            f"authenticated with DefaultAzureCredential: workload/managed identity) or {AZURE_CONN_ENV}"
        )
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc:
        raise BackupError(
            f"{uri}: {AZURE_URL_ENV}={url!r} must be an https:// account URL (Entra ID tokens are never sent "
            "over plain HTTP)"
        )
    from azure.identity import DefaultAzureCredential

    return BlobServiceClient(account_url=url, credential=DefaultAzureCredential())


class _SingleBlobStore:
    """put/get/exists/list/delete for stores where each operation is one SDK call on one blob.

    Azure Blob and GCS differ only in which SDK call does each operation and in how their errors read;
    what the rest of the backup relies on is the same and lives here once: keys are relative to the
    URI's prefix, every failure becomes a BackupError naming the URI and the operation (NotFoundError
    when the object is missing, so callers can tell "absent" from "broken"), and deleting an object
    that is already gone is not an error (prune and cleanup may race or repeat).
    """

    uri: str
    prefix: str

    def _name(self, key: str) -> str:
        return _join(self.prefix, key)

    def _upload(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def _download(self, name: str) -> bytes:
        raise NotImplementedError

    def _blob_exists(self, name: str) -> bool:
        raise NotImplementedError

    def _names_starting_with(self, name_prefix: str) -> Iterator[str]:
        raise NotImplementedError

    def _delete_blob(self, name: str) -> None:
        raise NotImplementedError

    def _sdk_failure(self, err: Exception, what: str) -> BackupError | None:
        """The message for an SDK error this store recognises; None for anything else."""
        raise NotImplementedError

    def _fail(self, err: Exception, what: str) -> BackupError:
        if isinstance(err, BackupError):
            return err
        known = self._sdk_failure(err, what)
        if known is not None:
            return known
        return BackupError(f"{self.uri}: {what} failed: {type(err).__name__}: {str(err).splitlines()[0]}")

    def put(
        self, key: str, data: bytes, *, lock_until: dt.datetime | None = None, lock_mode: str = "COMPLIANCE"
    ) -> None:
        try:
            self._upload(self._name(key), data)
        except Exception as err:
            raise self._fail(err, f"put {key}") from None

    def get(self, key: str) -> bytes:
        try:
            return self._download(self._name(key))
        except Exception as err:
            raise self._fail(err, f"get {key}") from None

    def exists(self, key: str) -> bool:
        try:
            return self._blob_exists(self._name(key))
        except Exception as err:
            raise self._fail(err, f"exists {key}") from None

    def list(self, prefix: str) -> Iterator[str]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        try:
            for name in self._names_starting_with(self._name(prefix)):
                yield name[cut:]
        except Exception as err:
            raise self._fail(err, f"list {prefix or '/'}") from None

    def delete(self, key: str) -> None:
        try:
            self._delete_blob(self._name(key))
        except Exception as err:
            failure = self._fail(err, f"delete {key}")
            if not isinstance(failure, NotFoundError):
                raise failure from None


class AzureStore(_SingleBlobStore):
    def __init__(self, uri: str, container: str, prefix: str) -> None:
        self.uri = uri
        self.container = container
        self.prefix = prefix
        self._client: Any = None

    @property
    def cc(self) -> Any:
        if self._client is None:
            self._client = azure_service_client(self.uri).get_container_client(self.container)
        return self._client

    def _sdk_failure(self, err: Exception, what: str) -> BackupError | None:
        from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

        if isinstance(err, ResourceNotFoundError):
            if "ContainerNotFound" in str(err):
                return BackupError(f"{self.uri}: container {self.container!r} does not exist")
            return NotFoundError(f"{self.uri}: {what}: not found")
        if isinstance(err, ClientAuthenticationError):  # also DefaultAzureCredential finding no identity
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            return BackupError(f"{self.uri}: credentials rejected or unavailable during {what}: {first}")
        return None

    def _upload(self, name: str, data: bytes) -> None:
        self.cc.upload_blob(name, data, overwrite=True, max_concurrency=1)

    def _download(self, name: str) -> bytes:
        return self.cc.download_blob(name).readall()

    def _blob_exists(self, name: str) -> bool:
        return bool(self.cc.get_blob_client(name).exists())

    def _names_starting_with(self, name_prefix: str) -> Iterator[str]:
        for blob in self.cc.list_blobs(name_starts_with=name_prefix):
            yield blob.name

    def _delete_blob(self, name: str) -> None:
        self.cc.delete_blob(name)

    def lock_until(self, key: str) -> dt.datetime | None:
        try:
            props = self.cc.get_blob_client(self._name(key)).get_blob_properties()
        except Exception as err:
            raise self._fail(err, f"properties {key}") from None
        policy = getattr(props, "immutability_policy", None)
        until = getattr(policy, "expiry_time", None) if policy is not None else None
        if getattr(props, "has_legal_hold", False):
            return dt.datetime.max.replace(tzinfo=dt.UTC)
        return until if isinstance(until, dt.datetime) else None

    def check(self, *, require_versioning: bool, require_lock: bool) -> None:
        try:
            if not self.cc.exists():
                raise BackupError(f"{self.uri}: container {self.container!r} does not exist")
        except Exception as err:
            raise self._fail(err, "check container") from None
        # Versioning and immutability are account/container policies set by the infrastructure program;
        # the emulator has no API for them, so they are not re-checked here (README: limits).


class GcsStore(_SingleBlobStore):
    def __init__(self, uri: str, bucket: str, prefix: str) -> None:
        self.uri = uri
        self.bucket_name = bucket
        self.prefix = prefix
        self._bucket: Any = None

    @property
    def bucket(self) -> Any:
        if self._bucket is None:
            from google.cloud import storage

            if os.environ.get("STORAGE_EMULATOR_HOST"):
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(
                    project=os.environ.get("GOOGLE_CLOUD_PROJECT", "local"), credentials=AnonymousCredentials()
                )
            else:
                client = storage.Client()
            self._bucket = client.bucket(self.bucket_name)
        return self._bucket

    def _sdk_failure(self, err: Exception, what: str) -> BackupError | None:
        from google.api_core import exceptions as gexc

        if isinstance(err, gexc.NotFound):
            return NotFoundError(f"{self.uri}: {what}: not found")
        if isinstance(err, gexc.Forbidden | gexc.Unauthorized):
            return BackupError(f"{self.uri}: credentials rejected during {what}")
        return None

    def _upload(self, name: str, data: bytes) -> None:
        self.bucket.blob(name).upload_from_string(data, content_type="application/octet-stream")

    def _download(self, name: str) -> bytes:
        return self.bucket.blob(name).download_as_bytes()

    def _blob_exists(self, name: str) -> bool:
        return bool(self.bucket.blob(name).exists())

    def _names_starting_with(self, name_prefix: str) -> Iterator[str]:
        for blob in self.bucket.list_blobs(prefix=name_prefix):
            yield blob.name

    def _delete_blob(self, name: str) -> None:
        self.bucket.blob(name).delete()

    def lock_until(self, key: str) -> dt.datetime | None:
        try:
            blob = self.bucket.get_blob(self._name(key))
        except Exception as err:
            raise self._fail(err, f"properties {key}") from None
        if blob is None:
            return None
        if getattr(blob, "temporary_hold", False) or getattr(blob, "event_based_hold", False):
            return dt.datetime.max.replace(tzinfo=dt.UTC)
        until = getattr(blob, "retention_expiration_time", None)
        return until if isinstance(until, dt.datetime) else None

    def check(self, *, require_versioning: bool, require_lock: bool) -> None:
        try:
            if not self.bucket.exists():
                raise BackupError(f"{self.uri}: bucket {self.bucket_name!r} does not exist")
        except Exception as err:
            raise self._fail(err, "check bucket") from None


def open_store(uri: str) -> ObjectStore:
    """Parses a target URI; an unknown scheme is a usage error naming the allowed ones."""
    parsed = urlparse(uri)
    scheme = parsed.scheme
    prefix = parsed.path.strip("/")
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise UsageError(f"--target {uri}: file:// URIs take an absolute path (file:///dir)")
        if not parsed.path.startswith("/"):
            raise UsageError(f"--target {uri}: file:// needs an absolute path")
        return FileStore(uri, Path(parsed.path))
    if scheme not in SCHEMES:
        allowed = ", ".join(f"{s}://" for s in SCHEMES)
        raise UsageError(f"--target {uri}: unknown scheme {scheme or '(none)'!r}; allowed: {allowed}")
    if not parsed.netloc:
        raise UsageError(f"--target {uri}: missing bucket/container name")
    if scheme == "s3":
        return S3Store(uri, parsed.netloc, prefix)
    if scheme == "azblob":
        return AzureStore(uri, parsed.netloc, prefix)
    return GcsStore(uri, parsed.netloc, prefix)
