"""Key files and wrappers: modes, refusals, and the AWS KMS request shape (botocore Stubber, no network)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from boto3.session import Session
from botocore.stub import Stubber

from functions.backup.errors import BackupError, UsageError
from functions.backup.keys import AwsKmsWrapper, KeyFileWrapper, keygen, new_data_key, wrapper_from_options


def test_keygen_writes_32_bytes_mode_0600_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keygen(path)
    assert len(path.read_bytes()) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(UsageError, match="refusing to overwrite"):
        keygen(path)


def test_key_file_wrap_unwrap_and_context_binding(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keygen(path)
    wrapper = KeyFileWrapper(path)
    data_key = new_data_key()
    wrapped = wrapper.wrap(data_key, {"backup_id": "a"})
    assert data_key not in wrapped
    assert wrapper.unwrap(wrapped, {"backup_id": "a"}) == data_key
    with pytest.raises(BackupError, match="cannot unwrap"):
        wrapper.unwrap(wrapped, {"backup_id": "b"})
    assert wrapper.key_id.startswith("keyfile:") and path.read_bytes().hex()[:16] not in wrapper.key_id


def test_bad_key_files_are_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"x" * 31)
    short.chmod(0o600)
    with pytest.raises(UsageError, match="exactly 32 bytes"):
        KeyFileWrapper(short)
    loose = tmp_path / "loose"
    loose.write_bytes(os.urandom(32))
    loose.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        KeyFileWrapper(loose)
    with pytest.raises(UsageError, match="no such file"):
        KeyFileWrapper(tmp_path / "missing")
    monkeypatch.delenv("BACKUP_KEY_FILE", raising=False)
    with pytest.raises(UsageError, match="--key-file"):
        wrapper_from_options(None, None)


def test_aws_kms_wrapper_sends_key_and_context() -> None:
    client = Session().client("kms", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    data_key = new_data_key()
    context = {"backup_id": "20260101T000000000Z-abc123", "class": "db"}
    arn = "arn:aws:kms:eu-west-1:111122223333:key/backup"
    with Stubber(client) as stub:
        stub.add_response(
            "encrypt",
            {"CiphertextBlob": b"wrapped!", "KeyId": arn},
            {"KeyId": arn, "Plaintext": data_key, "EncryptionContext": context},
        )
        stub.add_response(
            "decrypt",
            {"Plaintext": data_key, "KeyId": arn},
            {"CiphertextBlob": b"wrapped!", "KeyId": arn, "EncryptionContext": context},
        )
        stub.add_client_error("decrypt", "InvalidCiphertextException")
        wrapper = AwsKmsWrapper(arn, client=client)
        assert wrapper.key_id == "aws-kms:" + arn
        assert wrapper.wrap(data_key, context) == b"wrapped!"
        assert wrapper.unwrap(b"wrapped!", context) == data_key
        with pytest.raises(BackupError, match="KMS refused"):
            wrapper.unwrap(b"other", context)
