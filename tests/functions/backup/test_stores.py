"""Store selection without a network: Azure credential choice, S3 object-lock request shape (Stubber)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError, DefaultAzureCredential
from boto3.session import Session
from botocore.stub import Stubber

from functions.backup.cli import run
from functions.backup.errors import BackupError, UsageError
from functions.backup.stores import AzureStore, S3Store, azure_service_client
from tests.functions.backup.conftest import AZURITE_ACCOUNT, AZURITE_KEY

ACCOUNT_URL = "https://backupvault.blob.core.windows.net"
CONN = (
    f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
    f"BlobEndpoint=http://127.0.0.1:10000/{AZURITE_ACCOUNT};"
)


@pytest.fixture
def no_azure_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_account_url_uses_default_azure_credential_with_workload_identity(no_azure_env: pytest.MonkeyPatch) -> None:
    # What the AKS/EKS workload-identity webhook injects into the job pods.
    no_azure_env.setenv("AZURE_STORAGE_ACCOUNT_URL", ACCOUNT_URL)
    no_azure_env.setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
    no_azure_env.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    no_azure_env.setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002")
    container = AzureStore("azblob://backup-db/nightly", "backup-db", "nightly").cc
    assert container.url == f"{ACCOUNT_URL}/backup-db"
    assert isinstance(container.credential, DefaultAzureCredential), "a token credential, not a shared key"
    chain = [type(c).__name__ for c in container.credential.credentials]
    assert "WorkloadIdentityCredential" in chain and "ManagedIdentityCredential" in chain


def test_connection_string_wins_and_uses_the_shared_key(no_azure_env: pytest.MonkeyPatch) -> None:
    service = azure_service_client(
        "azblob://c", {"AZURE_STORAGE_CONNECTION_STRING": CONN, "AZURE_STORAGE_ACCOUNT_URL": ACCOUNT_URL}
    )
    assert service.url.startswith("http://127.0.0.1:10000/")
    assert service.credential.account_name == AZURITE_ACCOUNT, "shared-key credential from the string"
    assert not isinstance(service.credential, DefaultAzureCredential)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "need AZURE_STORAGE_ACCOUNT_URL"),
        ({"AZURE_STORAGE_ACCOUNT_URL": "http://backupvault.blob.core.windows.net"}, "must be an https:// account URL"),
        ({"AZURE_STORAGE_ACCOUNT_URL": "backupvault"}, "must be an https:// account URL"),
    ],
)
def test_azure_without_usable_settings_is_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(BackupError, match=message) as caught:
        azure_service_client("azblob://backup-db", env)
    assert "azblob://backup-db" in str(caught.value)


def test_cli_names_both_variables_when_neither_is_set(no_azure_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, result = run(["list", "--target", "azblob://backup-db"])
    assert code == 1
    assert "AZURE_STORAGE_ACCOUNT_URL" in result["error"] and "AZURE_STORAGE_CONNECTION_STRING" in result["error"]


def test_missing_identity_is_reported_not_a_traceback() -> None:
    store = AzureStore("azblob://backup-db", "backup-db", "")
    unavailable = CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token\nmore detail")
    failure = store._fail(unavailable, "put db/x")
    assert isinstance(unavailable, ClientAuthenticationError)
    assert str(failure) == (
        "azblob://backup-db: credentials rejected or unavailable during put db/x: "
        "DefaultAzureCredential failed to retrieve a token"
    )


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_s3_put_sends_the_requested_lock_mode(mode: str) -> None:
    client = Session().client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    until = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with Stubber(client) as stub:
        stub.add_response(
            "put_object",
            {},
            {
                "Bucket": "vault",
                "Key": "db/x",
                "Body": b"frame",
                "ObjectLockMode": mode,
                "ObjectLockRetainUntilDate": until,
            },
        )
        stub.add_response("put_object", {}, {"Bucket": "vault", "Key": "db/y", "Body": b"frame"})
        store = S3Store("s3://vault/db", "vault", "db", client=client)
        store.put("x", b"frame", lock_until=until, lock_mode=mode)
        store.put("y", b"frame", lock_mode=mode)  # no retention date: no lock headers at all
        stub.assert_no_pending_responses()
    with pytest.raises(UsageError, match="allowed: COMPLIANCE, GOVERNANCE"):
        store.put("z", b"frame", lock_until=until, lock_mode="LEGAL")


def test_lock_mode_flag_is_validated_by_the_parser() -> None:
    code, result = run(["backup", "--class", "db", "--lock-mode", "governance", "--target", "file:///tmp/x"])
    assert code == 2 and "--lock-mode" in result["error"] and "GOVERNANCE" in result["error"]
