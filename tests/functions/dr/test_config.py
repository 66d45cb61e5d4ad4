"""Config errors name the key and what is allowed; files are read as YAML or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.dr.cli import run
from functions.dr.config import load_config, parse_config
from functions.dr.errors import UsageError
from tests.functions.dr.conftest import make_config


def test_every_bad_key_is_named_at_once() -> None:
    with pytest.raises(UsageError) as err:
        parse_config(
            {
                "region": "west",
                "database_id": "db",
                "health": {"interval_seconds": 10, "primary_url": "https://o.example.com/"},
                "database": {"kind": "mysql"},
                "publish": {},
                "lock": {"table": "dr-controller"},
                "auto_promte": True,
            }
        )
    text = str(err.value)
    for key in ("region", "database", "publish", "auto_promte"):
        assert f"config: {key}" in text, text
    assert "'postgres', 'rds_replica', 'aurora_global'" in text


def test_timeout_must_be_below_interval_and_something_probed() -> None:
    with pytest.raises(UsageError, match=r"timeout_seconds 10\.0 must be below interval_seconds 10"):
        make_config(health={"interval_seconds": 10, "timeout_seconds": 10, "primary_url": "https://o.example.com/"})
    with pytest.raises(UsageError, match="nothing to probe"):
        make_config(health={"interval_seconds": 10})


def test_aurora_needs_its_cluster_ids() -> None:
    with pytest.raises(UsageError, match="global_cluster_id and target_cluster_arn"):
        make_config(database={"kind": "aurora_global", "replica_id": "dr-cluster"})


def test_auto_promote_defaults_off(tmp_path: Path) -> None:
    data = make_config().model_dump(mode="json")
    del data["auto_promote"]
    path = tmp_path / "dr.json"
    path.write_text(json.dumps(data))
    assert load_config(path).auto_promote is False


def test_yaml_file_and_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "dr.yaml"
    path.write_text("region: us-west-2\nhealth: [unclosed\n")
    code, result = run(["--config", str(path), "status"])
    assert code == 2 and "not valid YAML" in result["error"] and str(path) in result["error"]
    code, result = run(["--config", str(tmp_path / "missing.yaml"), "status"])
    assert code == 2 and "cannot read" in result["error"]


def test_missing_config_and_unset_dsn_are_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DR_CONFIG", raising=False)
    code, result = run(["status"])
    assert code == 2 and "$DR_CONFIG" in result["error"]
    path = tmp_path / "dr.json"
    path.write_text(json.dumps(make_config().model_dump(mode="json")))
    monkeypatch.delenv("DR_STANDBY_DSN", raising=False)
    code, result = run(["--config", str(path), "status"])
    assert code == 2 and "database.standby_dsn_env: $DR_STANDBY_DSN" in result["error"]
    code, result = run(["--config", str(path), "bound"])
    assert code == 0 and result["rto_bound_seconds"] == 150, "bound needs no connection"
