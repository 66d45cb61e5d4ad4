"""Data keys and the wrappers that protect them.

Every backup gets its own random 256-bit data key. Only the *wrapped* form is stored (in the manifest);
the plaintext key lives in memory for the duration of one command. Production wraps with a cloud KMS
(``AwsKmsWrapper``), offline use wraps with a local 32-byte key file (``KeyFileWrapper``). Both share the
``KeyWrapper`` protocol, so the pipeline never knows which one it has.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
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
        answer = self._kms().encrypt(KeyId=self._kms_key_id, Plaintext=data_key, EncryptionContext=context)
        return bytes(answer["CiphertextBlob"])

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self._kms().decrypt(CiphertextBlob=wrapped, KeyId=self._kms_key_id, EncryptionContext=context)
        except ClientError as err:
            raise BackupError(f"AWS KMS refused to unwrap the data key: {err}") from None
        return bytes(answer["Plaintext"])


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


def wrapper_from_options(key_file: str | None, kms_key_id: str | None) -> KeyWrapper:
    """``--kms-key-id`` wins, then ``--key-file``, then ``$BACKUP_KEY_FILE``."""
    if kms_key_id:
        return AwsKmsWrapper(kms_key_id)
    chosen = key_file or os.environ.get(KEY_FILE_ENV)
    if not chosen:
        raise UsageError(f"no key: pass --key-file PATH, set {KEY_FILE_ENV}, or pass --kms-key-id ARN")
    return KeyFileWrapper(Path(chosen))
