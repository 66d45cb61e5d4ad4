"""Data keys and the wrappers that protect them.

Every backup gets its own random 256-bit data key. Only *wrapped* forms are stored (in the manifest); the
plaintext key lives in memory for the duration of one command. A key can be wrapped by several wrappers
at once (the manifest's *recipients*), so a backup copied to S3, Azure Blob and GCS stays readable when
one cloud account is lost: AWS KMS (``AwsKmsWrapper``), Azure Key Vault (``AzureKeyVaultWrapper``),
Google Cloud KMS (``GcpKmsWrapper``) and a local 32-byte key file (``KeyFileWrapper``, offline). They
share the ``KeyWrapper`` protocol; ``KeyRing`` holds the ones a command was given. Cloud SDKs are imported
on first use only (Lambda and CronJob cold starts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
import struct
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from functions.backup.defaults import KEY_FILE_ENV
from functions.backup.errors import BackupError, UsageError

DATA_KEY_BYTES = 32
_WRAP_AAD = b"functions.backup data key v1"


class KeyWrapper(Protocol):
    """Wraps and unwraps per-backup data keys; ``key_id`` names the wrapping key (never the key)."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: dict[str, str]) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes: ...


def new_data_key() -> bytes:
    return secrets.token_bytes(DATA_KEY_BYTES)


def _context_aad(context: dict[str, str]) -> bytes:
    """Binds a wrapped key to its backup (like a KMS encryption context): moving it elsewhere fails."""
    parts = [f"{k}={context[k]}" for k in sorted(context)]
    return _WRAP_AAD + b"\x00" + "\x00".join(parts).encode()


class KeyFileWrapper:
    """AES-256-GCM key wrapping with a local 32-byte master key file (offline / tests)."""

    def __init__(self, path: Path) -> None:
        try:
            mode = path.stat().st_mode
            master = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(f"--key-file {path}: no such file (create one with `keygen {path}`)") from None
        except PermissionError:
            raise UsageError(f"--key-file {path}: permission denied") from None
        if len(master) != DATA_KEY_BYTES:
            raise UsageError(f"--key-file {path}: must hold exactly 32 bytes, it has {len(master)}")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(f"--key-file {path}: mode {oct(mode & 0o777)} is readable by others; chmod 600")
        self._aead = AESGCM(master)
        # A fingerprint, not the key: lets `list` say which key a backup needs without revealing it.
        self._key_id = "keyfile:" + hashlib.sha256(b"functions.backup key id\x00" + master).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, data_key: bytes, context: dict[str, str]) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, data_key, _context_aad(context))

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], _context_aad(context))
        except InvalidTag:
            raise BackupError(
                "cannot unwrap the backup's data key: wrong key file, or the manifest's key block was "
                "altered or copied from another backup"
            ) from None


class AwsKmsWrapper:
    """Wraps data keys with AWS KMS ``Encrypt``/``Decrypt`` (boto3 imported lazily: Lambda cold starts)."""

    def __init__(self, kms_key_id: str, client: Any = None) -> None:
        self._kms_key_id = kms_key_id
        self._client = client

    def _kms(self) -> Any:
        if self._client is None:
            from boto3.session import Session

            self._client = Session().client("kms")
        return self._client

    @property
    def key_id(self) -> str:
        return "aws-kms:" + self._kms_key_id

    def wrap(self, data_key: bytes, context: dict[str, str]) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._kms().encrypt(KeyId=self._kms_key_id, Plaintext=data_key, EncryptionContext=context)
        except (ClientError, BotoCoreError) as err:
            raise BackupError(f"AWS KMS {self._kms_key_id} refused to wrap the data key: {err}") from None
        return bytes(answer["CiphertextBlob"])

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._kms().decrypt(CiphertextBlob=wrapped, KeyId=self._kms_key_id, EncryptionContext=context)
        except (ClientError, BotoCoreError) as err:
            raise BackupError(f"AWS KMS refused to unwrap the data key: {err}") from None
        return bytes(answer["Plaintext"])


# Key Vault key identifiers: https://<vault>.<vault DNS suffix of the cloud>/keys/<name>[/<version>].
_AZURE_KEY_URL = re.compile(
    r"^https://(?P<vault>[A-Za-z0-9-]{3,24})\.(?P<suffix>vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net"
    r"|vault\.microsoftazure\.de|managedhsm\.azure\.net|managedhsm\.azure\.cn|managedhsm\.usgovcloudapi\.net)"
    r"/keys/(?P<name>[A-Za-z0-9-]{1,127})(?:/(?P<version>[0-9a-fA-F]{32}))?/?$"
)
_AZURE_BLOB_MAGIC = b"AKV1"
_AZURE_TAG_BYTES = 32


def parse_azure_key_url(url: str, flag: str = "--azure-key-id") -> tuple[str, str | None]:
    """``(versionless key URL, version or None)``; a malformed URL is a usage error naming ``flag``."""
    match = _AZURE_KEY_URL.match(url)
    if not match:
        raise UsageError(
            f"{flag} {url!r}: not a Key Vault key URL; expected "
            "https://<vault>.vault.azure.net/keys/<name>[/<32-hex version>] (or a managedhsm.azure.net key)"
        )
    base = f"https://{match['vault']}.{match['suffix']}/keys/{match['name']}".lower()
    return base, match["version"].lower() if match["version"] else None


def _binding_tag(data_key: bytes, context: dict[str, str]) -> bytes:
    """RSA-OAEP has no associated data, so the context is bound with a MAC under a key derived from the data
    key itself: only whoever unwrapped the key can make one, and a key block moved to another backup fails."""
    from functions.backup.fmt import derive

    return hmac.new(derive(data_key, "azure-keyvault-context"), _context_aad(context), hashlib.sha256).digest()


class AzureKeyVaultWrapper:
    """Wraps data keys with an RSA key in Azure Key Vault (RSA-OAEP-256), context bound by a MAC.

    The wrapped form is ``"AKV1" | u16 length | versioned key id | 32-byte context tag | RSA ciphertext``: the
    key *version* that wrapped is recorded, so a rotated key (a new version) still unwraps old backups.
    The ``CryptographyClient`` fetches the public key once and wraps locally when it may read the key
    (``keys/get``, part of "Key Vault Crypto User"); unwrapping always happens in the vault.
    """

    def __init__(
        self, key_url: str, credential: Any = None, *, flag: str = "--azure-key-id", **client_options: Any
    ) -> None:
        self._base, self._version = parse_azure_key_url(key_url, flag)
        self._url = key_url.rstrip("/")
        self._credential = credential
        self._client_options = client_options  # tests: transport=…, the fake Key Vault

    @property
    def key_id(self) -> str:
        return "azure-keyvault:" + self._base

    def _client(self, kid: str) -> Any:
        from azure.keyvault.keys.crypto import CryptographyClient

        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return CryptographyClient(kid, self._credential, **self._client_options)

    def wrap(self, data_key: bytes, context: dict[str, str]) -> bytes:
        from azure.core.exceptions import AzureError
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        try:
            result = self._client(self._url).wrap_key(KeyWrapAlgorithm.rsa_oaep_256, data_key)
        except AzureError as err:
            raise BackupError(
                f"Azure Key Vault {self._url} refused to wrap the data key: {_azure_message(err)}"
            ) from None
        kid = str(result.key_id or "")
        base, version = parse_azure_key_url(kid, "Key Vault answer")
        if version is None or base != self._base:
            raise BackupError(
                f"Azure Key Vault {self._url}: cannot tell which key version wrapped the data key ({kid!r}); give a "
                "versioned key URL or allow keys/get (role Key Vault Crypto User)"
            )
        kid_bytes = kid.encode()
        tag = _binding_tag(data_key, context)
        return _AZURE_BLOB_MAGIC + struct.pack(">H", len(kid_bytes)) + kid_bytes + tag + bytes(result.encrypted_key)

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        from azure.core.exceptions import AzureError
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        if len(wrapped) < 6 or wrapped[:4] != _AZURE_BLOB_MAGIC:
            raise BackupError("Azure Key Vault recipient: wrapped key is not in the AKV1 layout (altered manifest)")
        (size,) = struct.unpack(">H", wrapped[4:6])
        kid = wrapped[6 : 6 + size].decode(errors="replace")
        tag = wrapped[6 + size : 6 + size + _AZURE_TAG_BYTES]
        encrypted = wrapped[6 + size + _AZURE_TAG_BYTES :]
        match = _AZURE_KEY_URL.match(kid)
        if not match or parse_azure_key_url(kid)[0] != self._base or len(tag) != _AZURE_TAG_BYTES or not encrypted:
            raise BackupError(f"Azure Key Vault recipient: wrapped key names {kid!r}, not a version of {self._base}")
        try:
            data_key = bytes(self._client(kid).unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, encrypted).key)
        except AzureError as err:
            raise BackupError(f"Azure Key Vault {kid} refused to unwrap the data key: {_azure_message(err)}") from None
        if not hmac.compare_digest(_binding_tag(data_key, context), tag):
            expected = ", ".join(f"{k}={context[k]}" for k in sorted(context))
            raise BackupError(
                f"Azure Key Vault recipient: the unwrapped data key is not bound to {expected} (the key block was "
                "copied from another backup)"
            )
        return data_key


def _azure_message(err: Exception) -> str:
    message = getattr(err, "message", None) or str(err)
    return str(message).splitlines()[0] if message else type(err).__name__


_GCP_KEY_NAME = re.compile(
    r"^projects/(?P<project>[a-z0-9][a-z0-9.:-]{0,62})/locations/(?P<location>[a-z0-9-]{1,63})"
    r"/keyRings/(?P<ring>[A-Za-z0-9_-]{1,63})/cryptoKeys/(?P<key>[A-Za-z0-9_-]{1,63})$"
)


def check_gcp_key_name(name: str, flag: str = "--gcp-kms-key") -> str:
    if not _GCP_KEY_NAME.match(name):
        raise UsageError(
            f"{flag} {name!r}: not a Cloud KMS CryptoKey name; expected "
            "projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key> (no cryptoKeyVersions: "
            "decrypt picks the version from the ciphertext)"
        )
    return name


class GcpKmsWrapper:
    """Wraps data keys with a Cloud KMS symmetric CryptoKey (``Encrypt``/``Decrypt``, the context as AAD).

    CRC32C checksums of what is sent and received are checked both ways, as Google recommends for KMS.
    """

    def __init__(self, crypto_key_name: str, client: Any = None, *, flag: str = "--gcp-kms-key") -> None:
        self._name = check_gcp_key_name(crypto_key_name, flag)
        self._client = client

    @property
    def key_id(self) -> str:
        return "gcp-kms:" + self._name

    def _kms(self) -> Any:
        if self._client is None:
            import warnings

            with warnings.catch_warnings():  # google-api-core's Python end-of-life notice: not for our JSON logs
                warnings.simplefilter("ignore", FutureWarning)
                from google.cloud.kms_v1 import KeyManagementServiceClient

            self._client = KeyManagementServiceClient()
        return self._client

    def wrap(self, data_key: bytes, context: dict[str, str]) -> bytes:
        aad = _context_aad(context)
        request = {
            "name": self._name,
            "plaintext": data_key,
            "additional_authenticated_data": aad,
            "plaintext_crc32c": _crc32c(data_key),
            "additional_authenticated_data_crc32c": _crc32c(aad),
        }
        answer = self._call("wrap", lambda: self._kms().encrypt(request=request))
        ciphertext = bytes(answer.ciphertext)
        if not (answer.verified_plaintext_crc32c and answer.verified_additional_authenticated_data_crc32c):
            raise BackupError(f"Cloud KMS {self._name}: request checksums not verified (corrupted in transit)")
        if answer.ciphertext_crc32c != _crc32c(ciphertext):
            raise BackupError(f"Cloud KMS {self._name}: ciphertext checksum mismatch (corrupted in transit)")
        return ciphertext

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        aad = _context_aad(context)
        request = {
            "name": self._name,
            "ciphertext": wrapped,
            "additional_authenticated_data": aad,
            "ciphertext_crc32c": _crc32c(wrapped),
            "additional_authenticated_data_crc32c": _crc32c(aad),
        }
        answer = self._call("unwrap", lambda: self._kms().decrypt(request=request))
        plaintext = bytes(answer.plaintext)
        if answer.plaintext_crc32c != _crc32c(plaintext):
            raise BackupError(f"Cloud KMS {self._name}: plaintext checksum mismatch (corrupted in transit)")
        return plaintext

    def _call(self, what: str, call: Any) -> Any:
        from google.api_core.exceptions import GoogleAPIError, InvalidArgument
        from google.auth.exceptions import GoogleAuthError

        try:
            return call()
        except InvalidArgument as err:
            hint = (
                " (wrong key, or the key block was altered or copied from another backup)" if what == "unwrap" else ""
            )
            raise BackupError(f"Cloud KMS {self._name} refused to {what} the data key: {err.message}{hint}") from None
        except (GoogleAPIError, GoogleAuthError) as err:
            raise BackupError(f"Cloud KMS {self._name} refused to {what} the data key: {err}") from None


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


def recipients_of(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A key block's recipients; a single-key block (before recipients existed) is its own one recipient."""
    recipients = block.get("recipients")
    if recipients is None:
        return [{"key_id": block["key_id"], "wrapped": block["wrapped"]}]
    return [dict(r) for r in recipients]


class KeyRing:
    """The wrappers one command was given: every one wraps each new data key; any one that matches a
    recipient of a backup can unwrap it (tried in the order given)."""

    def __init__(self, wrappers: Sequence[KeyWrapper]) -> None:
        seen: dict[str, KeyWrapper] = {}
        for wrapper in wrappers:
            seen.setdefault(wrapper.key_id, wrapper)
        if not seen:
            raise UsageError("no key wrapper given")
        self.wrappers = list(seen.values())

    @property
    def key_ids(self) -> list[str]:
        return [w.key_id for w in self.wrappers]

    def recipients(self, data_key: bytes, context: dict[str, str], skip: Sequence[str] = ()) -> list[dict[str, Any]]:
        """``[{key_id, wrapped}]`` for every wrapper (except key ids in ``skip``); a refusal fails the whole
        call, because a backup silently missing a cloud's recipient is exactly what this protects against.
        Remote wrappers run concurrently (each is one KMS round trip)."""
        todo = [w for w in self.wrappers if w.key_id not in skip]
        if len(todo) > 1:
            with ThreadPoolExecutor(len(todo), thread_name_prefix="wrap") as pool:
                blobs = list(pool.map(lambda w: w.wrap(data_key, context), todo))
        else:
            blobs = [w.wrap(data_key, context) for w in todo]
        return [{"key_id": w.key_id, "wrapped": base64.b64encode(b).decode()} for w, b in zip(todo, blobs, strict=True)]

    def key_block(self, data_key: bytes, nonce_prefix: bytes, context: dict[str, str]) -> dict[str, Any]:
        """The manifest's ``key``: ``recipients`` plus, for readers of the single-key format, the first one
        again as ``key_id``/``wrapped``."""
        recipients = self.recipients(data_key, context)
        return {
            "key_id": recipients[0]["key_id"],
            "wrapped": recipients[0]["wrapped"],
            "recipients": recipients,
            "nonce_prefix": nonce_prefix.hex(),
            "context": dict(context),
        }

    def extend_block(self, block: dict[str, Any], data_key: bytes) -> dict[str, Any]:
        """``block`` (an ancestor's, copied into an incremental) with recipients added for wrappers it lacks,
        so the whole chain opens with any key the newest backup was written for."""
        have = recipients_of(block)
        added = self.recipients(data_key, block["context"], skip=[r["key_id"] for r in have])
        if not added:
            return block
        recipients = have + added
        return {
            **block,
            "key_id": recipients[0]["key_id"],
            "wrapped": recipients[0]["wrapped"],
            "recipients": recipients,
        }

    def unwrap(self, block: Mapping[str, Any], what: str) -> bytes:
        """The data key of one key block; ``what`` names the backup in errors."""
        recipients = recipients_of(block)
        by_id = {r["key_id"]: r for r in recipients}
        failures: list[str] = []
        for wrapper in self.wrappers:
            recipient = by_id.get(wrapper.key_id)
            if recipient is None:
                continue
            try:
                return wrapper.unwrap(base64.b64decode(recipient["wrapped"]), dict(block["context"]))
            except BackupError as err:
                failures.append(f"{wrapper.key_id}: {err}")
        if failures:
            raise BackupError(f"{what}: no supplied key could unwrap the data key: " + "; ".join(failures))
        raise BackupError(
            f"{what} was wrapped for {', '.join(by_id)}; you supplied {', '.join(self.key_ids)} (wrong key: pass one "
            "of the backup's with --kms-key-id, --azure-key-id, --gcp-kms-key or --key-file)"
        )


def keygen(path: Path) -> None:
    """Creates a new 32-byte key file with mode 0600, refusing to overwrite an existing one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"keygen {path}: file exists; refusing to overwrite a key") from None
    except OSError as err:
        raise UsageError(f"keygen {path}: {err.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(DATA_KEY_BYTES))
    path.chmod(0o600)


KEY_ENVS = {
    "kms_key_id": "BACKUP_KMS_KEY_ID",
    "azure_key_id": "BACKUP_AZURE_KEY_ID",
    "gcp_kms_key": "BACKUP_GCP_KMS_KEY",
    "key_file": KEY_FILE_ENV,
}
"""Environment fallbacks of the key flags: read only when no key flag is given at all."""


KEY_FLAGS = {
    "kms_key_id": "--kms-key-id",
    "azure_key_id": "--azure-key-id",
    "gcp_kms_key": "--gcp-kms-key",
    "key_file": "--key-file",
}


def _chosen_keys(
    key_file: str | None,
    kms_key_id: str | None,
    azure_key_id: str | None,
    gcp_kms_key: str | None,
    env: Mapping[str, str] | None,
) -> tuple[dict[str, str | None], bool]:
    """The keys in effect and whether they came from the environment (only when no key flag was given)."""
    given = {"kms_key_id": kms_key_id, "azure_key_id": azure_key_id, "gcp_kms_key": gcp_kms_key, "key_file": key_file}
    if any(given.values()):
        return given, False
    source = os.environ if env is None else env
    return {name: source.get(var) or None for name, var in KEY_ENVS.items()}, True


def key_options(
    key_file: str | None = None,
    kms_key_id: str | None = None,
    azure_key_id: str | None = None,
    gcp_kms_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Command-line flags naming the same keys ``wrapper_from_options`` picks for these arguments (the key
    file as an absolute path), for commands written now and run later elsewhere, such as the
    ``restore_command`` of a PITR restore, which PostgreSQL runs without our flags or environment."""
    given, _ = _chosen_keys(key_file, kms_key_id, azure_key_id, gcp_kms_key, env)
    argv: list[str] = []
    for name, flag in KEY_FLAGS.items():
        value = given[name]
        if value:
            argv += [flag, str(Path(value).resolve()) if name == "key_file" else value]
    return argv


def wrapper_from_options(
    key_file: str | None = None,
    kms_key_id: str | None = None,
    azure_key_id: str | None = None,
    gcp_kms_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> KeyRing:
    """Every key given (``--kms-key-id``, ``--azure-key-id``, ``--gcp-kms-key``, ``--key-file``, in that order);
    with none given, the same from ``$BACKUP_KMS_KEY_ID``, ``$BACKUP_AZURE_KEY_ID``, ``$BACKUP_GCP_KMS_KEY``
    and ``$BACKUP_KEY_FILE``. Flags never mix with the environment: a stale variable cannot add a recipient
    to a backup whose command line names its keys."""
    given, from_env = _chosen_keys(key_file, kms_key_id, azure_key_id, gcp_kms_key, env)
    flags = {name: ("$" + KEY_ENVS[name]) if from_env else KEY_FLAGS[name] for name in KEY_FLAGS}
    wrappers: list[KeyWrapper] = []
    if given["kms_key_id"]:
        wrappers.append(AwsKmsWrapper(given["kms_key_id"]))
    if given["azure_key_id"]:
        wrappers.append(AzureKeyVaultWrapper(given["azure_key_id"], flag=flags["azure_key_id"]))
    if given["gcp_kms_key"]:
        wrappers.append(GcpKmsWrapper(given["gcp_kms_key"], flag=flags["gcp_kms_key"]))
    if given["key_file"]:
        wrappers.append(KeyFileWrapper(Path(given["key_file"])))
    if not wrappers:
        raise UsageError(
            "no key: pass --kms-key-id ARN, --azure-key-id URL, --gcp-kms-key NAME and/or --key-file PATH "
            f"(or set {', '.join('$' + v for v in KEY_ENVS.values())})"
        )
    return KeyRing(wrappers)


def as_ring(keys: KeyRing | KeyWrapper) -> KeyRing:
    """Callers may pass one wrapper where a ring is expected."""
    return keys if isinstance(keys, KeyRing) else KeyRing([keys])
