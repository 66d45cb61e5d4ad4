"""``python -m platform_outputs``: exit codes, the one-line summary, one line per misfit."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from platform_outputs.cli import main

from tests.clients import samples
from tests.plans import plan_of

REPO = Path(__file__).resolve().parents[2]


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, data: Any, name: str = "outputs.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_offline_plans_outputs_fit(stack: str, tmp_path: Path) -> None:
    plan = plan_of(stack)
    wrapped = {"stack": stack, "outputs": plan.outputs, "secretOutputs": plan.secret_outputs}
    for data in (plan.outputs, wrapped):
        code, out, err = run(["check", write(tmp_path, data)])
        assert (code, err) == (0, ""), out
        assert out.startswith(f"fits contract v1: {plan.outputs['environment']} stack, namespace ")
        assert len(out.splitlines()) == 1
        assert f"{len(plan.secret_outputs)} secret value(s) redacted" in out


def test_fitting_outputs_from_stdin_exit_0_with_one_line() -> None:
    code, out, _ = run(["check", "-"], stdin=json.dumps(samples.redacted()))
    assert code == 0
    assert out == (
        "fits contract v1: prod stack, namespace platform, 2 section(s) (maintenance, redis); "
        "1 secret value(s) redacted: present, type not checked\n"
    )


def test_outputs_that_do_not_fit_exit_1_naming_each_field(tmp_path: Path) -> None:
    data = samples.redacted()
    data["redis"]["port"] = "6379"
    del data["redis"]["endpoint"]
    data["services"]["backend"]["autoscaler"] = "vpa"
    code, out, _ = run(["check", write(tmp_path, data)])
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        "does not fit contract v1 (stack contract_version '1'): 3 field(s): "
        "redis.endpoint, redis.port, services.backend.autoscaler"
    )
    assert lines[1:] == [
        "  redis.endpoint: missing (required by contract v1)",
        "  redis.port: Input should be a valid integer, got '6379' (str)",
        "  services.backend.autoscaler: Input should be 'hpa' or 'keda', got 'vpa' (str)",
    ]


def test_shown_secrets_fit_too(tmp_path: Path) -> None:
    code, out, _ = run(["check", write(tmp_path, samples.outputs())])
    assert code == 0
    assert "redacted" not in out
    assert samples.PASSWORD not in out


def test_required_sections_and_json_report(tmp_path: Path) -> None:
    path = write(tmp_path, samples.redacted())
    code, out, _ = run(["check", path, "--require", "redis,dr", "--json"])
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["problems"] == [
        {"path": "dr", "message": "absent, and this consumer requires it (the stack has it turned off)"}
    ]
    assert report["redacted"] == ["redis.password"]
    assert run(["check", path, "--require", "redis", "--require", "maintenance"])[0] == 0


def test_another_major_version_is_named(tmp_path: Path) -> None:
    data = samples.redacted()
    data["contract_version"] = "2"
    code, out, _ = run(["check", write(tmp_path, data)])
    assert code == 1
    assert "contract_version: the stack publishes contract v2, this client reads v1" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty; expected the JSON of `pulumi stack output --json`"),
        ("{'redis': 1}", "not JSON (line 1, column 2"),
        ("[1, 2]", "expected a JSON object of stack outputs, got list"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_unreadable_input_exits_2_naming_the_file(tmp_path: Path, content: str | bytes, expected: str) -> None:
    path = tmp_path / "outputs.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, out, err = run(["check", str(path)])
    assert (code, out) == (2, "")
    assert str(path) in err
    assert expected in err


def test_a_missing_file_and_an_unknown_section_exit_2(tmp_path: Path) -> None:
    code, _, err = run(["check", str(tmp_path / "nope.json")])
    assert code == 2
    assert "nope.json: cannot read: No such file or directory" in err
    code, _, err = run(["check", write(tmp_path, samples.redacted()), "--require", "message_queue"])
    assert code == 2
    assert "cannot require message_queue: not in contract v1" in err


def test_compat_exits_1_on_a_breaking_change_and_0_on_an_addition(tmp_path: Path) -> None:
    published = json.loads((REPO / "schema" / "stack-outputs.v1.json").read_text())
    old = write(tmp_path, published, "old.json")
    added = json.loads(json.dumps(published))
    added["$defs"]["RedisOutputs"]["properties"]["tls_port"] = {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
    }
    code, out, _ = run(["compat", old, write(tmp_path, added, "added.json")])
    assert code == 0
    assert "compatible, 1 optional addition(s)" in out
    assert "  redis.tls_port: added (optional): integer | null" in out
    removed = json.loads(json.dumps(published))
    del removed["$defs"]["RedisOutputs"]["properties"]["port"]
    code, out, _ = run(["compat", old, write(tmp_path, removed, "removed.json"), "--json"])
    assert code == 1
    assert json.loads(out)["changes"][0]["path"] == "redis.port"
    assert run(["compat", old, str(tmp_path / "missing.json")])[0] == 2


def test_the_module_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "platform_outputs", "check", "-"],
        input=json.dumps(samples.redacted()),
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO / "clients" / "platform_outputs",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("fits contract v1")
