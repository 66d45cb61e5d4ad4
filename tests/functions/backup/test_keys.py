"""Key files and wrappers: modes, refusals, the AWS KMS request shape (botocore Stubber), and the three cloud
wrappers through their real SDKs against local fakes of Key Vault, Cloud KMS and AWS KMS (kms_fakes.py)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from boto3.session import Session
from botocore.stub import Stubber

from functions.backup.errors import BackupError, UsageError
from functions.backup.keys import AwsKmsWrapper, KeyFileWrapper, KeyRing, keygen, new_data_key, wrapper_from_options
from tests.functions.backup.conftest import CloudKeys


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


# --- Azure Key Vault, Cloud KMS and AWS KMS through their real SDKs against local fakes (kms_fakes.py) -------

CONTEXT = {"backup_id": "20260101T000000000Z-abc123", "class": "db"}
OTHER = {"backup_id": "20260102T000000000Z-def456", "class": "db"}


def test_azure_key_vault_wraps_with_the_sdk_and_unwraps_in_the_vault(cloud_keys: CloudKeys) -> None:
    wrapper = cloud_keys.azure
    data_key = new_data_key()
    wrapped = wrapper.wrap(data_key, CONTEXT)
    assert data_key not in wrapped and wrapped.startswith(b"AKV1")
    assert wrapper.key_id == "azure-keyvault:" + cloud_keys.azure_url
    assert cloud_keys.azure.unwrap(wrapped, CONTEXT) == data_key
    # The SDK read the public key (versionless, then the version that wrapped) and unwrapped in the vault.
    name = cloud_keys.azure_url.rsplit("/", 1)[1]
    (version,) = cloud_keys.vault.keys[name]
    assert cloud_keys.vault.calls == [
        ("GET", f"/keys/{name}/"),
        ("GET", f"/keys/{name}/{version}"),
        ("POST", f"/keys/{name}/{version}/unwrapkey"),
    ]
    assert set(cloud_keys.credential.scopes) == {"https://vault.azure.net/.default"}  # from the 401 challenge


def test_azure_old_key_versions_still_unwrap_after_rotation(cloud_keys: CloudKeys) -> None:
    data_key = new_data_key()
    old = cloud_keys.azure.wrap(data_key, CONTEXT)
    name = cloud_keys.azure_url.rsplit("/", 1)[1]
    cloud_keys.vault.create_key(name)  # rotation: a new current version
    new = cloud_keys.azure.wrap(data_key, CONTEXT)
    first, second = list(cloud_keys.vault.keys[name])
    assert first.encode() in old and second.encode() in new
    assert cloud_keys.azure.unwrap(old, CONTEXT) == data_key == cloud_keys.azure.unwrap(new, CONTEXT)


def test_azure_without_keys_get_wraps_in_the_vault_but_needs_a_versioned_url(cloud_keys: CloudKeys) -> None:
    from functions.backup.keys import AzureKeyVaultWrapper

    cloud_keys.vault.allow_get = False
    versioned = cloud_keys.vault.create_key("no-get")
    wrapper = AzureKeyVaultWrapper(versioned, credential=cloud_keys.credential, transport=cloud_keys.vault)
    data_key = new_data_key()
    wrapped = wrapper.wrap(data_key, CONTEXT)
    assert ("POST", "/" + versioned.split("/", 3)[3] + "/wrapkey") in cloud_keys.vault.calls
    assert wrapper.unwrap(wrapped, CONTEXT) == data_key
    versionless = AzureKeyVaultWrapper(
        cloud_keys.vault.key_url("no-get"), credential=cloud_keys.credential, transport=cloud_keys.vault
    )
    with pytest.raises(BackupError, match="cannot tell which key version"):
        versionless.wrap(data_key, CONTEXT)


def test_azure_binds_the_context_that_rsa_oaep_cannot(cloud_keys: CloudKeys) -> None:
    data_key = new_data_key()
    wrapped = cloud_keys.azure.wrap(data_key, CONTEXT)
    with pytest.raises(BackupError, match="not bound to backup_id=20260102T000000000Z-def456, class=db"):
        cloud_keys.azure.unwrap(wrapped, OTHER)
    size = int.from_bytes(wrapped[4:6], "big")
    tag_at = 6 + size
    forged = wrapped[:tag_at] + bytes(32) + wrapped[tag_at + 32 :]
    with pytest.raises(BackupError, match="not bound to"):
        cloud_keys.azure.unwrap(forged, CONTEXT)
    with pytest.raises(BackupError, match=r"refused to unwrap.*Error occurred while decrypting"):
        cloud_keys.azure.unwrap(wrapped[:-1] + bytes([wrapped[-1] ^ 1]), CONTEXT)


def test_azure_refusals_are_backup_errors(cloud_keys: CloudKeys) -> None:
    from functions.backup.keys import AzureKeyVaultWrapper

    missing = AzureKeyVaultWrapper(
        cloud_keys.vault.key_url("missing"), credential=cloud_keys.credential, transport=cloud_keys.vault
    )
    with pytest.raises(
        BackupError, match=r"refused to wrap the data key: \(KeyNotFound\) A key with .*missing was not found"
    ):
        missing.wrap(new_data_key(), CONTEXT)
    wrapped = cloud_keys.azure.wrap(new_data_key(), CONTEXT)
    with pytest.raises(BackupError, match=r"names .* not a version of"):
        missing.unwrap(wrapped, CONTEXT)


def test_gcp_cloud_kms_round_trip_with_aad_and_checksums(cloud_keys: CloudKeys, fake_cloud_kms: Any) -> None:
    wrapper = cloud_keys.gcp
    data_key = new_data_key()
    wrapped = wrapper.wrap(data_key, CONTEXT)
    assert data_key not in wrapped and wrapper.key_id == "gcp-kms:" + cloud_keys.gcp_name
    assert cloud_keys.gcp.unwrap(wrapped, CONTEXT) == data_key
    assert fake_cloud_kms.metadata[-1]["x-goog-request-params"] == "name=" + cloud_keys.gcp_name  # routing header
    with pytest.raises(BackupError, match=r"Decryption failed: the ciphertext is invalid.*another backup"):
        wrapper.unwrap(wrapped, OTHER)  # the AAD differs: Cloud KMS answers INVALID_ARGUMENT
    fake_cloud_kms.corrupt_next = True
    with pytest.raises(BackupError, match="ciphertext checksum mismatch"):
        wrapper.wrap(data_key, CONTEXT)


def test_gcp_unknown_key_is_a_backup_error(fake_cloud_kms: Any) -> None:
    from functions.backup.keys import GcpKmsWrapper

    wrapper = GcpKmsWrapper("projects/p/locations/global/keyRings/r/cryptoKeys/absent", client=fake_cloud_kms.client())
    with pytest.raises(BackupError, match=r"refused to wrap the data key: 404 CryptoKey .*absent not found"):
        wrapper.wrap(new_data_key(), CONTEXT)


def test_aws_kms_round_trip_and_context_through_botocore(cloud_keys: CloudKeys) -> None:
    data_key = new_data_key()
    wrapped = cloud_keys.aws.wrap(data_key, CONTEXT)
    assert cloud_keys.aws.unwrap(wrapped, CONTEXT) == data_key
    with pytest.raises(BackupError, match="InvalidCiphertextException"):
        cloud_keys.aws.unwrap(wrapped, OTHER)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"azure_key_id": "http://backup.vault.azure.net/keys/k"}, "--azure-key-id 'http://"),
        ({"azure_key_id": "https://backup.example.com/keys/k"}, "not a Key Vault key URL"),
        ({"azure_key_id": "https://backup.vault.azure.net/secrets/k"}, "not a Key Vault key URL"),
        ({"azure_key_id": "https://backup.vault.azure.net/keys/k/v1"}, "32-hex version"),
        ({"gcp_kms_key": "projects/p/locations/global/keyRings/r"}, "--gcp-kms-key 'projects/p/locations/global"),
        (
            {"gcp_kms_key": "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"},
            "no cryptoKeyVersions",
        ),
        ({"gcp_kms_key": "locations/global/keyRings/r/cryptoKeys/k"}, "not a Cloud KMS CryptoKey name"),
    ],
)
def test_bad_cloud_key_names_are_usage_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        wrapper_from_options(**options)


def test_every_key_given_is_a_recipient_and_the_environment_only_without_flags(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    azure = "https://backup.vault.azure.net/keys/wrap"
    gcp = "projects/p/locations/global/keyRings/r/cryptoKeys/k"
    ring = wrapper_from_options(str(key_file), "arn:aws:kms:eu-west-1:111122223333:key/k", azure, gcp)
    kinds = [k.split(":", 1)[0] for k in ring.key_ids]
    assert kinds == ["aws-kms", "azure-keyvault", "gcp-kms", "keyfile"]
    monkeypatch.setenv("BACKUP_GCP_KMS_KEY", gcp)
    monkeypatch.setenv("BACKUP_AZURE_KEY_ID", azure)
    monkeypatch.delenv("BACKUP_KMS_KEY_ID", raising=False)
    monkeypatch.delenv("BACKUP_KEY_FILE", raising=False)
    assert wrapper_from_options().key_ids == ["azure-keyvault:" + azure, "gcp-kms:" + gcp]
    assert wrapper_from_options(key_file=str(key_file)).key_ids == [KeyFileWrapper(key_file).key_id]


def test_key_ring_any_recipient_unwraps_and_a_wrong_key_names_both_sides(cloud_keys: CloudKeys, key_file: Path) -> None:
    ring = KeyRing([cloud_keys.aws, cloud_keys.azure, cloud_keys.gcp])
    data_key = new_data_key()
    block = ring.key_block(data_key, b"\x00\x01\x02\x03", CONTEXT)
    assert [r["key_id"] for r in block["recipients"]] == ring.key_ids
    assert (block["key_id"], block["wrapped"]) == (block["recipients"][0]["key_id"], block["recipients"][0]["wrapped"])
    for single in (cloud_keys.aws, cloud_keys.azure, cloud_keys.gcp):
        assert KeyRing([single]).unwrap(block, "backup X") == data_key
    stranger = KeyFileWrapper(key_file)
    with pytest.raises(BackupError) as err:
        KeyRing([stranger]).unwrap(block, "backup X")
    text = str(err.value)
    assert all(k in text for k in ring.key_ids) and f"you supplied {stranger.key_id}" in text and "wrong key" in text


def test_key_ring_refuses_to_write_when_any_recipient_cannot_wrap(cloud_keys: CloudKeys, key_file: Path) -> None:
    from functions.backup.keys import GcpKmsWrapper

    absent = GcpKmsWrapper(
        "projects/p/locations/global/keyRings/r/cryptoKeys/absent", client=cloud_keys.cloud_kms.client()
    )
    with pytest.raises(BackupError, match="absent"):
        KeyRing([KeyFileWrapper(key_file), absent]).key_block(new_data_key(), b"\x00" * 4, CONTEXT)
