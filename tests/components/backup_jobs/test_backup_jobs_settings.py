"""Pure checks of the backup_jobs settings: cron gap arithmetic, the class defaults merge, and cloud key names
judged like the backup function judges them."""

from __future__ import annotations

import pytest

from components.backup_jobs.config import BackupJobsSettings, KeySource, max_gap_seconds


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [("* * * * *", 60), ("*/5 * * * *", 300), ("0 */6 * * *", 21_600), ("15 1 * * *", 86_400), ("0 5 * * 0", 604_800)],
)
def test_max_gap_seconds(schedule: str, gap: int) -> None:
    assert max_gap_seconds(schedule) == gap


def test_max_gap_sees_an_uneven_schedule() -> None:
    # 00:00 and 01:00 only: the widest gap is 23 hours, not the first one
    assert max_gap_seconds("0 0,1 * * *") == 23 * 3600


def test_max_gap_stops_early_above_the_limit() -> None:
    assert max_gap_seconds("0 */6 * * *", limit=60) == 21_600


def test_a_stack_lists_only_the_classes_it_changes() -> None:
    settings = BackupJobsSettings.model_validate(
        {
            "image": "ghcr.io/example/backup:1.0.0",
            "classes": {"chain": {"source": {"claim_name": "geth"}, "incremental": True}},
        }
    )
    assert set(settings.classes) == {"db", "chain", "state"}
    chain = settings.classes["chain"].source
    assert chain is not None and chain.claim_name == "geth"
    state = settings.classes["state"].source
    assert state is not None and state.claim_name == "app-state"


@pytest.mark.parametrize(
    "url",
    [
        "https://backupwrap.vault.azure.net/keys/wrap",
        "https://backupwrap.vault.azure.net/keys/wrap/0123456789abcdef0123456789abcdef",
        "https://backup-hsm.managedhsm.azure.net/keys/wrap/",
        "https://backupwrap.vault.azure.cn/keys/wrap-2",
        "http://backupwrap.vault.azure.net/keys/wrap",
        "https://backupwrap.vault.azure.net/secrets/wrap",
        "https://backupwrap.vault.azure.net/keys/wrap/v1",
        "https://kv.example.com/keys/wrap",
        "https://ab.vault.azure.net/keys/wrap",
    ],
)
def test_azure_key_urls_are_judged_like_the_backup_function(url: str) -> None:
    """The setting accepts exactly the Key Vault key URLs the function's --azure-key-id accepts."""
    from functions.backup.errors import UsageError
    from functions.backup.keys import parse_azure_key_url

    try:
        parse_azure_key_url(url)
        function_ok = True
    except UsageError:
        function_ok = False
    vault = url.split("//", 1)[1].split(".", 1)[0]
    vault_id = f"/subscriptions/{'1' * 8}-2222-4333-8444-{'5' * 12}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{vault}"
    try:
        KeySource(azure_key_id=url, azure_key_vault_id=vault_id)
        setting_ok = True
    except ValueError:
        setting_ok = False
    assert setting_ok is function_ok


@pytest.mark.parametrize(
    "name",
    [
        "projects/p-1/locations/global/keyRings/r/cryptoKeys/k",
        "projects/example.com:proj/locations/nam4/keyRings/r_1/cryptoKeys/k-2",
        "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        "projects/p/keyRings/r/cryptoKeys/k",
        "projects/P/locations/global/keyRings/r/cryptoKeys/k",
    ],
)
def test_gcp_key_names_are_judged_like_the_backup_function(name: str) -> None:
    from functions.backup.errors import UsageError
    from functions.backup.keys import check_gcp_key_name

    try:
        check_gcp_key_name(name)
        function_ok = True
    except UsageError:
        function_ok = False
    try:
        KeySource(gcp_kms_key=name)
        setting_ok = True
    except ValueError:
        setting_ok = False
    assert setting_ok is function_ok
