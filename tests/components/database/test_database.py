"""The database package's config checks and manifests (no server; see test_pooler_real.py for the real parts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components.database import conf
from components.database.config import DatabaseArgs, DatabaseSettings
from components.database.manifests import (
    headless_service_manifest,
    pdb_manifest,
    pooler_deployment_manifest,
    pooler_pdb_manifest,
    pooler_service_manifest,
    ro_service_manifest,
    rw_service_manifest,
    statefulset_manifest,
)
from components.platform.config import ConfigError, parse_config, read_stack_file

REPO = Path(__file__).resolve().parents[3]


def prod_values(**database: Any) -> dict[str, Any]:
    values = read_stack_file(REPO / "Pulumi.prod.yaml")
    values["database"] = {**values["database"], **database}
    return values


def problems(**database: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(prod_values(**database))
    return info.value.problems


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"pooler": {"replicas": 4, "default_pool_size": 50}}, "database.pooler.default_pool_size"),
        ({"max_connections": 60}, "database.pooler.default_pool_size"),
        ({"replicas": 3}, "database.replicas"),
        ({"parameters": {"ssl": "off"}}, "database.parameters.ssl"),
        ({"pooler": {"min_pool_size": 30}}, "database.pooler.min_pool_size"),
        ({"work_mem": "1Gi"}, "database.work_mem"),
        ({"storage": {"storage_class": "gp2"}}, "database.storage.storage_class"),
        ({"memory": "256Mi"}, "database.memory"),
        ({"databases": ["postgres"]}, "database.databases[0]"),
    ],
)
def test_impossible_sizes_name_the_key(change: dict[str, Any], key: str) -> None:
    found = problems(**change)
    assert any(p.startswith(f"{key}:") for p in found), found


def test_wal_archive_is_required_or_opted_out() -> None:
    values = prod_values()
    values["backup_jobs"] = {**values["backup_jobs"], "wal_archive": {"mode": "rds"}}
    with pytest.raises(ConfigError) as info:
        parse_config(values)
    assert any(p.startswith("database.allow_no_wal_archive:") for p in info.value.problems)
    values["database"] = {**values["database"], "allow_no_wal_archive": True}
    # Without a WAL archive there is nothing for a warm standby to replay: such a stack keeps an RDS DR replica.
    dr_database = {k: v for k, v in values["dr"]["database"].items() if not k.endswith("_endpoint")}
    values["dr"] = {**values["dr"], "database": {**dr_database, "kind": "rds_replica"}}
    assert parse_config(values).database is not None


def test_memory_parameters_follow_the_container() -> None:
    s = DatabaseSettings(memory="16Gi", max_connections=200)
    text = conf.render_postgresql_conf(s, None)
    for line in ("shared_buffers = 4096MB", "effective_cache_size = 12288MB", "maintenance_work_mem = 1024MB"):
        assert line in text
    assert "work_mem = 15728kB" in text  # (16 GiB - 4 GiB) / (4 x 200)
    assert "statement_timeout = '30s'" in text and "shared_preload_libraries = 'pg_stat_statements'" in text
    assert "ssl = on" in text and "archive_mode = off" in text
    archived = conf.render_postgresql_conf(s, "/etc/postgresql/conf.d/backup-archive.conf")
    assert "include_if_exists = '/etc/postgresql/conf.d/backup-archive.conf'" in archived


def test_hba_accepts_tcp_only_over_tls() -> None:
    lines = [line.split() for line in conf.render_pg_hba(DatabaseSettings()).splitlines() if not line.startswith("#")]
    tcp = [line for line in lines if line[0].startswith("host")]
    assert tcp and all(line[0] in ("hostssl", "hostnossl") for line in tcp)
    assert all(line[-1] == "reject" for line in tcp if line[0] == "hostnossl")


def test_pgbouncer_ini_has_the_seed_figures() -> None:
    s = DatabaseSettings()
    ini = conf.render_pgbouncer_ini(s.pooler, s.databases, "database-rw.platform.svc.cluster.local", "TLSv1.2")
    for line in (
        "pool_mode = transaction",
        "max_client_conn = 1000",
        "default_pool_size = 25",
        "min_pool_size = 2",
        "server_idle_timeout = 30",
        "max_db_connections = 25",
        "client_tls_sslmode = require",
        "server_tls_sslmode = verify-full",
    ):
        assert line in ini
    assert "password" not in ini.lower()


def _manifests(args: DatabaseArgs) -> list[dict[str, Any]]:
    return [
        statefulset_manifest(args, "primary"),
        statefulset_manifest(args, "replica"),
        rw_service_manifest(args),
        ro_service_manifest(args),
        headless_service_manifest(args),
        pdb_manifest(args),
        pooler_deployment_manifest(args),
        pooler_service_manifest(args),
        pooler_pdb_manifest(args),
    ]


def test_manifests_validate_against_kubernetes_schemas() -> None:
    args = DatabaseArgs(settings=DatabaseSettings(), namespace="platform", archive_conf_path="/etc/x/a.conf")
    manifests = _manifests(args)
    assert manifests
    for manifest in manifests:
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def test_rw_and_ro_select_disjoint_roles() -> None:
    args = DatabaseArgs(settings=DatabaseSettings(), namespace="platform")
    primary = statefulset_manifest(args, "primary")["spec"]["template"]["metadata"]["labels"]
    replica = statefulset_manifest(args, "replica")["spec"]["template"]["metadata"]["labels"]
    rw = rw_service_manifest(args)["spec"]["selector"]
    ro = ro_service_manifest(args)["spec"]["selector"]
    assert rw.items() <= primary.items() and not rw.items() <= replica.items()
    assert ro.items() <= replica.items() and not ro.items() <= primary.items()
