"""``make schema`` publishes compatible changes only: the gate and the regeneration agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from components.platform.outputs import json_schema
from offline import schema


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of schema/ that ``offline.schema`` publishes into."""
    directory = tmp_path / "schema"
    shutil.copytree(schema.SCHEMA_DIR, directory)
    monkeypatch.setattr(schema, "SCHEMA_DIR", directory)
    monkeypatch.setattr(schema, "SCHEMA_PATH", directory / schema.SCHEMA_PATH.name)
    return directory


def _models_as(monkeypatch: pytest.MonkeyPatch, document: dict[str, Any], version: str | None = None) -> None:
    monkeypatch.setattr(schema, "json_schema", lambda: json.loads(json.dumps(document)))
    if version is not None:
        monkeypatch.setattr(schema, "CONTRACT_VERSION", version)
        monkeypatch.setattr(schema, "SCHEMA_PATH", schema.SCHEMA_DIR / f"stack-outputs.v{version}.json")


def test_publishing_todays_models_twice_changes_nothing_the_second_time(
    published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert schema.main() == 0, capsys.readouterr().err
    first = {p.name: p.read_text() for p in published.iterdir()}
    capsys.readouterr()
    assert schema.main() == 0
    assert "is up to date" in capsys.readouterr().out
    assert {p.name: p.read_text() for p in published.iterdir()} == first
    assert json.loads(schema.SCHEMA_PATH.read_text()) == json_schema()


def test_an_optional_field_is_published(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grown = json_schema()
    grown["$defs"]["RedisOutputs"]["properties"]["tls_port"] = {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
    }
    _models_as(monkeypatch, grown)
    assert schema.main() == 0
    assert "tls_port" in json.loads(schema.SCHEMA_PATH.read_text())["$defs"]["RedisOutputs"]["properties"]


def test_a_breaking_change_is_refused_naming_the_field(
    published: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = json_schema()
    del broken["$defs"]["RedisOutputs"]["properties"]["port"]
    broken["$defs"]["RedisOutputs"]["required"].remove("port")
    before = schema.SCHEMA_PATH.read_text()
    _models_as(monkeypatch, broken)
    assert schema.main() == 1
    err = capsys.readouterr().err
    assert "redis.port: removed" in err
    assert "publish stack-outputs.v2.json" in err
    assert schema.SCHEMA_PATH.read_text() == before


def test_a_new_major_version_is_published_beside_the_old_one(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = (published / "stack-outputs.v1.json").read_text()
    v2 = json_schema()
    del v2["$defs"]["RedisOutputs"]["properties"]["port"]
    v2["$defs"]["RedisOutputs"]["required"].remove("port")
    v2["properties"]["contract_version"]["const"] = "2"
    _models_as(monkeypatch, v2, version="2")
    assert schema.main() == 0
    assert (published / "stack-outputs.v1.json").read_text() == v1
    assert (
        json.loads((published / "stack-outputs.v2.json").read_text())["properties"]["contract_version"]["const"] == "2"
    )


def test_a_version_behind_the_published_one_is_refused(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (published / "stack-outputs.v3.json").write_text((published / "stack-outputs.v1.json").read_text())
    assert schema.gate_problems() == ["CONTRACT_VERSION 1 is older than the published v3"]
    assert schema.main() == 1
