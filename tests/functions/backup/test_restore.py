"""The restore_command a PITR restore writes: same targets and the same keys as the restore that wrote it."""

from __future__ import annotations

import shlex
from pathlib import Path

from functions.backup.keys import key_options
from functions.backup.restore import default_restore_command

AZURE = "https://vault1.vault.azure.net/keys/backup"
GCP = "projects/p/locations/europe-west1/keyRings/backups/cryptoKeys/wrap"
ARN = "arn:aws:kms:us-east-1:123456789012:key/abcd"


def _argv(command: str) -> list[str]:
    return shlex.split(command.split(" && ", 1)[1])


def test_key_options_repeat_every_flag_given_with_the_key_file_absolute(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    options = key_options(key_file="k.key", kms_key_id=ARN, azure_key_id=AZURE, gcp_kms_key=GCP, env={})
    assert options == [
        "--kms-key-id",
        ARN,
        "--azure-key-id",
        AZURE,
        "--gcp-kms-key",
        GCP,
        "--key-file",
        str(Path("k.key").resolve()),
    ]
    assert key_options(key_file=str(key), env={"BACKUP_GCP_KMS_KEY": GCP}) == ["--key-file", str(key)]


def test_key_options_fall_back_to_the_environment_only_without_flags() -> None:
    env = {"BACKUP_AZURE_KEY_ID": AZURE, "BACKUP_GCP_KMS_KEY": GCP}
    assert key_options(env=env) == ["--azure-key-id", AZURE, "--gcp-kms-key", GCP]
    assert key_options(kms_key_id=ARN, env=env) == ["--kms-key-id", ARN]


def test_restore_command_fetches_wal_from_the_same_targets_with_the_same_keys() -> None:
    keys = key_options(kms_key_id=ARN, gcp_kms_key=GCP, env={})
    argv = _argv(default_restore_command(["s3://b/p", "gs://g/p"], keys))
    assert argv[1:6] == ["-m", "functions.backup", "wal-fetch", "%f", "%p"]
    assert argv[6:] == ["--target", "s3://b/p", "--target", "gs://g/p", "--kms-key-id", ARN, "--gcp-kms-key", GCP]
