"""database-storage-tls-retention: both plans pass; unencrypted or keyless storage, TLS not forced (ssl off, a
plain ``host`` or accepting ``hostnossl`` line, PgBouncer without TLS) and backups kept under the recovery window
fail naming the resource."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from policies.rules.database_storage_tls_retention import hba_plaintext_lines
from tests.plans import STACKS, plan_of, plan_with
from tests.policies.helpers import mutate, pack_config, records_of, violations

POLICY = "database-storage-tls-retention"


def _found(records: list[dict[str, Any]], stack: str = "prod", config: dict[str, Any] | None = None) -> list[Any]:
    return [v for v in violations(records, stack, config=config) if v.policy == POLICY]


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_pass(stack: str) -> None:
    records = records_of(plan_of(stack))
    assert any(r["type"].endswith(":StatefulSet") and r["name"] == "database-primary" for r in records)
    assert _found(records, stack) == []


def _set_param(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        if value is None:
            inputs["parameters"].pop(key)
        else:
            inputs["parameters"][key] = value

    return change


def _edit_data(key: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        text = inputs["data"][key]
        assert re.search(old, text, flags=re.M), f"{old!r} not in {key}"
        inputs["data"][key] = re.sub(old, new, text, count=1, flags=re.M)

    return change


def _claim_class(inputs: dict[str, Any]) -> None:
    inputs["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = "gp2"


def _s3_db_days(inputs: dict[str, Any]) -> None:
    next(r for r in inputs["rules"] if r["id"] == "db-retention")["expiration"]["days"] = 7


def _azure_db_days(inputs: dict[str, Any]) -> None:
    rule = next(r for r in inputs["policy"]["rules"] if r["name"] == "db-retention")
    rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] = 7


def _gcs_age(inputs: dict[str, Any]) -> None:
    inputs["lifecycleRules"][0]["condition"]["age"] = 7


MUTATIONS = [
    ("unencrypted-class", ":StorageClass", "database-storage", _set_param("encrypted", "false"), "encrypted"),
    ("class-without-key", ":StorageClass", "database-storage", _set_param("kmsKeyId", None), "kmsKeyId"),
    ("undeclared-class", ":StatefulSet", "database-replica", _claim_class, "'gp2'"),
    ("ssl-off", ":ConfigMap", "database-config", _edit_data("postgresql.conf", r"^ssl = on", "ssl = off"), "ssl = on"),
    (
        "plain-host-line",
        ":ConfigMap",
        "database-config",
        _edit_data("pg_hba.conf", r"^hostssl(\s+all\s+all)", r"host\1"),
        "without TLS",
    ),
    (
        "hostnossl-accepts",
        ":ConfigMap",
        "database-config",
        _edit_data("pg_hba.conf", r"^(hostnossl\s+all\s+all\s+all\s+)reject", r"\1scram-sha-256"),
        "without TLS",
    ),
    (
        "pooler-plain-clients",
        ":ConfigMap",
        "database-pooler-config",
        _edit_data("pgbouncer.ini", r"^client_tls_sslmode = .*$", "client_tls_sslmode = disable"),
        "client_tls_sslmode",
    ),
    ("s3-db-7-days", ":BucketLifecycleConfiguration", "backup-s3-lifecycle", _s3_db_days, "db-retention"),
    ("azure-db-7-days", ":ManagementPolicy", "backup-azure-lifecycle", _azure_db_days, "db-retention"),
    ("gcs-db-7-days", "storage/bucket:Bucket", "backup-gcs-db", _gcs_age, "backup-gcs-db"),
]


@pytest.mark.parametrize(
    ("case", "type_suffix", "name", "change", "expected"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_mutated_prod_plan_fails_naming_the_urn(
    case: str, type_suffix: str, name: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    records, urn = mutate(records_of(plan_of("prod")), type_suffix, change, name)
    found = _found(records)
    assert any(v.urn == urn and expected in v.message for v in found), (case, [(v.urn, v.message) for v in found])


def test_a_kept_rds_pair_with_seven_day_retention_fails() -> None:
    """Prod's dr section as a stack that keeps RDS declares it: the DR-region RDS primary's 7 days fail."""
    keep_rds = {"dr": {"database": {"kind": "rds_replica", "primary_endpoint": None, "standby_endpoint": None}}}
    found = _found(records_of(plan_with("prod", keep_rds)), config=pack_config("prod"))
    assert [v.urn.rsplit("::", 1)[-1] for v in found] == ["dr-db-primary"], [v.message for v in found]
    assert "7 days, under the 30-day recovery window" in found[0].message


def test_staging_window_is_its_own() -> None:
    config = pack_config("staging")
    config[POLICY] = {"recoveryWindowDays": 8}
    found = _found(records_of(plan_of("staging")), "staging", config=config)
    assert {v.urn.rsplit("::", 1)[-1] for v in found} == {"backup-s3-lifecycle"}


def test_hba_lines() -> None:
    text = "local all all peer\nhostssl all all all scram-sha-256\nhostnossl all all all reject\n# host x\n"
    assert hba_plaintext_lines(text) == []
    assert hba_plaintext_lines("host all all 0.0.0.0/0 md5  # plain\n") == ["host all all 0.0.0.0/0 md5  # plain"]
