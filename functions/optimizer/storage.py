"""Pluggable object storage: ``s3://bucket/key`` (boto3, imported lazily) and ``file:///path``.

Why pluggable: the Lambda handler and the Job must be testable offline. ``OPTIMIZER_STORAGE_ROOT=file:///dir``
maps every ``s3://bucket/key`` to ``/dir/bucket/key`` (a bucket per folder); without it, S3 is used and
``AWS_ENDPOINT_URL`` (read by boto3 itself) points at an emulator such as SeaweedFS ``weed mini``.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from functions.optimizer.errors import StorageError

STORAGE_ROOT_ENV = "OPTIMIZER_STORAGE_ROOT"


@dataclass(frozen=True)
class ObjectMeta:
    """HTTP metadata stored with an object (S3 system metadata; ignored by the file backend)."""

    content_type: str
    cache_control: str
    content_encoding: str | None = None


class Storage(Protocol):
    def read(self, uri: str) -> bytes: ...

    def write(self, uri: str, data: bytes, meta: ObjectMeta) -> None: ...

    def list(self, uri: str) -> list[str]:
        """Object URIs under ``uri`` (a prefix or folder), or ``[uri]`` if it names one object."""
        ...

    def local_copy(self, uri: str, directory: Path) -> Path:
        """A local file with the object's bytes (streamed for S3, so videos are not held in memory)."""
        ...

    def upload_file(self, path: Path, uri: str, meta: ObjectMeta) -> None: ...


def split_uri(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket-or-empty, key-or-path) with a clear error for anything else."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StorageError(f"{uri}: s3:// URI needs a bucket (s3://bucket/key)")
        return "s3", parsed.netloc, parsed.path.lstrip("/")
    if parsed.scheme == "file":
        return "file", "", urllib.parse.unquote(parsed.path)
    raise StorageError(f"{uri}: unsupported scheme '{parsed.scheme}'; use s3://bucket/key or file:///path")


def join(uri: str, *parts: str) -> str:
    base = uri.rstrip("/")
    tail = "/".join(p.strip("/") for p in parts if p.strip("/"))
    return f"{base}/{tail}" if tail else base


class FileStorage:
    """``file://`` paths, and ``s3://bucket/key`` mapped under ``root`` when one is given."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        scheme, bucket, key = split_uri(uri)
        if scheme == "file":
            return Path(key)
        if self.root is None:
            raise StorageError(f"{uri}: s3:// needs boto3 or {STORAGE_ROOT_ENV}=file:///dir for a local bucket root")
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StorageError(f"{uri}: key escapes the bucket root")
        return path

    def read(self, uri: str) -> bytes:
        try:
            return self.path(uri).read_bytes()
        except OSError as exc:
            raise StorageError(f"{uri}: cannot read ({exc.strerror or exc})") from exc

    def write(self, uri: str, data: bytes, meta: ObjectMeta) -> None:
        path = self.path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def list(self, uri: str) -> list[str]:
        path = self.path(uri)
        prefix = uri.rstrip("/")
        if path.is_file():
            return [uri]
        if not path.is_dir():
            raise StorageError(f"{uri}: no such file or folder")
        return [f"{prefix}/{p.relative_to(path).as_posix()}" for p in sorted(path.rglob("*")) if p.is_file()]

    def local_copy(self, uri: str, directory: Path) -> Path:
        path = self.path(uri)
        if not path.is_file():
            raise StorageError(f"{uri}: no such file")
        return path

    def upload_file(self, path: Path, uri: str, meta: ObjectMeta) -> None:
        self.write(uri, path.read_bytes(), meta)


class S3Storage:
    """S3 through boto3 (present in the Lambda runtime; imported only when S3 is used)."""

    def __init__(self, client: Any | None = None) -> None:
        if client is None:
            import boto3.session

            # A session of its own: boto3's default session keeps the first credentials it resolved for the
            # life of the process, so a client made later would not see the environment it runs in.
            client = boto3.session.Session().client("s3")
        self.client = client

    def _call(self, uri: str, what: str, function: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"{uri}: {what} failed ({exc})") from exc

    @staticmethod
    def _extra(meta: ObjectMeta) -> dict[str, str]:
        extra = {"ContentType": meta.content_type, "CacheControl": meta.cache_control}
        if meta.content_encoding:
            extra["ContentEncoding"] = meta.content_encoding
        return extra

    def read(self, uri: str) -> bytes:
        _, bucket, key = split_uri(uri)
        response = self._call(uri, "GetObject", self.client.get_object, Bucket=bucket, Key=key)
        return response["Body"].read()

    def write(self, uri: str, data: bytes, meta: ObjectMeta) -> None:
        _, bucket, key = split_uri(uri)
        self._call(uri, "PutObject", self.client.put_object, Bucket=bucket, Key=key, Body=data, **self._extra(meta))

    def list(self, uri: str) -> list[str]:
        _, bucket, key = split_uri(uri)
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in self._call(uri, "ListObjectsV2", paginator.paginate, Bucket=bucket, Prefix=key):
            keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
        if not keys:
            raise StorageError(f"{uri}: no objects under this prefix")
        return sorted(f"s3://{bucket}/{k}" for k in keys)

    def local_copy(self, uri: str, directory: Path) -> Path:
        _, bucket, key = split_uri(uri)
        target = directory / Path(key).name
        self._call(uri, "download", self.client.download_file, Bucket=bucket, Key=key, Filename=str(target))
        return target

    def upload_file(self, path: Path, uri: str, meta: ObjectMeta) -> None:
        _, bucket, key = split_uri(uri)
        self._call(
            uri,
            "upload",
            self.client.upload_file,
            Filename=str(path),
            Bucket=bucket,
            Key=key,
            ExtraArgs=self._extra(meta),
        )


def storage_for(uri: str) -> Storage:
    """The backend for ``uri``, honouring ``OPTIMIZER_STORAGE_ROOT`` for offline runs."""
    scheme, _, _ = split_uri(uri)
    root = os.environ.get(STORAGE_ROOT_ENV)
    if root:
        root_scheme, _, root_path = split_uri(root)
        if root_scheme != "file":
            raise StorageError(f"{STORAGE_ROOT_ENV}={root}: must be a file:/// URI")
        return FileStorage(Path(root_path))
    if scheme == "file":
        return FileStorage()
    return S3Storage()
