"""`python -m policies.check` on both stacks' plans: exit 0 with zero mandatory violations; exit 1 naming
the URN on a mutated plan; exit 2 with a clear message on unusable input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from offline.plan import write_plan
from tests.plans import REPO, STACKS, plan_of
from tests.policies.helpers import CONFIG_DIR, mutate, records_of, write_json


def _gate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policies.check", *args], cwd=REPO, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("stack", STACKS)
def test_both_stacks_pass_the_gate(stack: str, tmp_path: Path) -> None:
    write_plan(plan_of(stack), tmp_path / stack)
    proc = _gate(str(tmp_path / stack / "resources.json"), "--stack-config", str(CONFIG_DIR / f"{stack}.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 mandatory violations" in proc.stdout


def test_mutated_plan_fails_naming_the_urn(tmp_path: Path) -> None:
    records, urn = mutate(
        records_of(plan_of("prod")),
        "apps/v1:Deployment",
        lambda i: i["spec"]["template"]["spec"]["containers"][0]["resources"].pop("limits"),
    )
    path = write_json(tmp_path / "resources.json", records)
    proc = _gate(str(path), "--stack-config", str(CONFIG_DIR / "prod.json"), "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert any(
        v["urn"] == urn and v["policy"] == "k8s-requests-limits" and v["remediation"] for v in report["violations"]
    )


def test_unusable_input_is_a_clear_error(tmp_path: Path) -> None:
    proc = _gate(str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr
    bad_config = write_json(tmp_path / "config.json", {"no-such-policy": {}})
    write_plan(plan_of("staging"), tmp_path / "staging")
    proc = _gate(str(tmp_path / "staging" / "resources.json"), "--stack-config", str(bad_config))
    assert proc.returncode == 2 and "unknown policies ['no-such-policy']" in proc.stderr


def test_pack_requirements_match_the_project_pins() -> None:
    project = {
        line.split("==")[0]: line for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line
    }
    pins = [
        line
        for line in (REPO / "policies" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    ]
    assert pins, "policies/requirements.txt pins no packages"
    for line in pins:
        assert project[line.split("==")[0]].split("#")[0].strip() == line.strip()


def test_pack_does_not_import_the_project() -> None:
    """The pack is published as its own directory: it must not import components/ or offline/."""
    # check.py is skipped: the offline gate runs inside the project
    modules = [path for path in (REPO / "policies").rglob("*.py") if path.name != "check.py"]
    assert modules, "the policy pack has no modules besides check.py"
    for path in modules:
        text = path.read_text()
        assert "from components" not in text and "import components" not in text, path
        assert "from offline" not in text, path


def test_stale_waivers_are_reported(tmp_path: Path) -> None:
    write_plan(plan_of("staging"), tmp_path / "staging")
    config = json.loads((CONFIG_DIR / "staging.json").read_text())
    config["k8s-image-pinned"] = {
        "waivers": [{"urn": "urn:pulumi:staging::platform::x::gone", "reason": "left over from a removed service"}]
    }
    path = write_json(tmp_path / "config.json", config)
    proc = _gate(str(tmp_path / "staging" / "resources.json"), "--stack-config", str(path), "--json")
    report = json.loads(proc.stdout)
    assert report["unusedWaivers"] == [
        {
            "policy": "k8s-image-pinned",
            "urn": "urn:pulumi:staging::platform::x::gone",
            "reason": "left over from a removed service",
        }
    ]
