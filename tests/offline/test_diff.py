"""Plan review (offline.diff) on real plans of the program: variants written with write_plan and compared."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offline import diff as diff_cli
from offline.diff_markdown import render as render_markdown
from offline.engine import SECRET, PlanResult, ResourceRecord
from offline.outputs_diff import contract_schema, diff_outputs
from offline.plan import write_plan
from offline.plan_diff import diff_dirs
from offline.property_diff import diff_values
from tests.plans import REPO, plan_of, plan_with, stack_values

STACK = "prod"


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base") / STACK
    write_plan(plan_of(STACK), folder)
    return folder


def write(result: PlanResult, root: Path, label: str = "head") -> Path:
    folder = root / label / result.stack
    write_plan(result, folder)
    return folder


def mutated(edit: Callable[[dict[str, ResourceRecord]], None]) -> PlanResult:
    """A deep copy of the prod plan with ``edit`` applied to its records (by name)."""
    result = copy.deepcopy(plan_of(STACK))
    edit({r.name: r for r in result.resources})
    return result


def urns(result: PlanResult, *names: str) -> set[str]:
    return {r.urn for r in result.resources if r.name in names}


def services_with(edit: Callable[[list[dict[str, Any]]], None]) -> dict[str, Any]:
    services = copy.deepcopy(stack_values(STACK)["services"])
    edit(services)
    return {"services": services}


def test_identical_plans_are_an_empty_diff_with_exit_0(base_dir: Path, tmp_path: Path, capsys: Any) -> None:
    head = write(plan_of(STACK), tmp_path)
    result = diff_dirs(base_dir, head)
    assert result.empty and result.exit_code == 0 and not result.moved
    assert diff_cli.main([str(base_dir), str(head), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("added", "removed", "changed", "replaced", "blocked"):
        assert report[key] == [], key
    assert "No changes" in render_markdown(result, STACK)


def test_a_changed_replica_range_is_an_in_place_change(base_dir: Path, tmp_path: Path) -> None:
    def widen(services: list[dict[str, Any]]) -> None:
        backend = next(s for s in services if s["name"] == "backend")
        backend["scaling"]["max_replicas"] = 120

    head = plan_with(STACK, services_with(widen))
    result = diff_dirs(base_dir, write(head, tmp_path))
    changed = {d.urn: d for d in result.of("update")}
    (scaled,) = [d for d in changed.values() if d.type == "kubernetes:keda.sh/v1alpha1:ScaledObject"]
    assert scaled.name == "backend-autoscaling-scaledobject"
    assert [(c.path, c.old, c.new) for c in scaled.changes] == [("spec.maxReplicaCount", 100, 120)]
    assert not result.of("replace") and not result.of("add") and not result.of("delete")
    assert result.exit_code == 0
    (output,) = [c for c in result.outputs.changes if c.path == "autoscaling.services.backend.max_replicas"]
    assert (output.kind, output.bump, output.old, output.new) == ("value", "none", 100, 120)


def test_a_removed_service_is_removed_and_not_blocked(base_dir: Path, tmp_path: Path) -> None:
    def drop(services: list[dict[str, Any]]) -> None:
        services[:] = [s for s in services if s["name"] != "frontend"]

    result = diff_dirs(base_dir, write(plan_with(STACK, services_with(drop)), tmp_path))
    removed = {d.name for d in result.of("delete")}
    assert {"frontend-deployment", "frontend-service", "frontend-pdb", "frontend"} <= removed
    assert not result.of("add") and not result.of("replace")
    assert result.blocked == [] and result.exit_code == 0
    (service,) = [c for c in result.outputs.changes if c.path == "services.frontend"]
    assert (service.kind, service.bump) == ("entry removed", "none")  # services is a map in the contract
    comment = render_markdown(result, STACK)
    assert "| frontend |" in comment and "<details>" in comment
    assert "frontend-deployment" in comment


def test_a_renamed_bucket_is_replaced_and_blocked(base_dir: Path, tmp_path: Path) -> None:
    def name_it(new_name: str) -> Callable[[dict[str, ResourceRecord]], None]:
        def edit(records: dict[str, ResourceRecord]) -> None:
            records["optimizer-uploads"].inputs["bucket"] = new_name

        return edit

    base = write(mutated(name_it("platform-uploads-prod")), tmp_path, "named")
    head = write(mutated(name_it("platform-uploads-prod-v2")), tmp_path)
    result = diff_dirs(base, head)
    (replaced,) = result.of("replace")
    assert replaced.name == "optimizer-uploads"
    assert any("bucket cannot change in place" in r for r in replaced.reasons)
    (blocked,) = result.blocked
    assert replaced.urn in blocked and "protected" in blocked and "S3 bucket" in blocked
    assert result.exit_code == 1
    assert diff_cli.main([str(base), str(head)]) == 1


def test_a_gcs_location_change_replaces_the_vault_buckets_and_keys(base_dir: Path, tmp_path: Path) -> None:
    head = plan_with(STACK, {"backup": {"gcs": {"location": "EUR4"}}})
    result = diff_dirs(base_dir, write(head, tmp_path))
    replaced = {d.name for d in result.of("replace")}
    assert {"backup-gcs-chain", "backup-gcs-db", "backup-gcs-state", "backup-gcs-keyring"} <= replaced
    blocked = "\n".join(result.blocked)
    assert all(name in blocked for name in ("backup-gcs-chain", "backup-gcs-keyring"))
    assert result.exit_code == 1


def test_a_statefulset_selector_change_replaces_redis_and_blocks(base_dir: Path, tmp_path: Path) -> None:
    def relabel(records: dict[str, ResourceRecord]) -> None:
        spec = records["redis-shard-0"].inputs["spec"]
        spec["selector"]["matchLabels"]["app.kubernetes.io/instance"] = "cache-v2"

    result = diff_dirs(base_dir, write(mutated(relabel), tmp_path))
    (replaced,) = result.of("replace")
    assert replaced.name == "redis-shard-0"
    assert any(r.startswith("spec.selector.matchLabels.app.kubernetes.io/instance cannot") for r in replaced.reasons)
    (blocked,) = result.blocked
    assert "protected" in blocked and "volumeClaimTemplates" in blocked
    assert result.exit_code == 1


def test_a_kubernetes_rename_replaces_but_a_template_change_updates(base_dir: Path, tmp_path: Path) -> None:
    def edit(records: dict[str, ResourceRecord]) -> None:
        records["monitoring-dashboard-operations"].inputs["metadata"]["name"] = "operations-v2"
        records["frontend-deployment"].inputs["spec"]["template"]["spec"]["containers"][0]["image"] = "frontend:2.8"

    result = diff_dirs(base_dir, write(mutated(edit), tmp_path))
    assert [d.name for d in result.of("replace")] == ["monitoring-dashboard-operations"]
    assert [d.name for d in result.of("update")] == ["frontend-deployment"]
    assert result.exit_code == 0  # a ConfigMap holds no data of its own


def _renamed(result: PlanResult, old: str, new: str) -> PlanResult:
    """A copy of ``result`` with the URN ``old`` (and every reference to it) rewritten to ``new``."""
    renamed = copy.deepcopy(result)

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            return new if value == old else value
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    for record in renamed.resources:
        record.urn, record.parent, record.provider = swap(record.urn), swap(record.parent), swap(record.provider)
        record.inputs, record.property_dependencies = swap(record.inputs), swap(record.property_dependencies)
        record.options = swap(record.options)
    return renamed


def test_the_aliased_dr_provider_move_is_not_a_replacement(tmp_path: Path) -> None:
    head = plan_of(STACK)
    (provider,) = [r for r in head.resources if r.name == "aws-dr"]
    (alias,) = provider.options["aliases"]
    # The base: the provider where it was before the move (under the platform), as deployed stacks have it.
    before = _renamed(head, provider.urn, alias)
    for record in before.resources:
        if record.urn == alias:
            record.parent = next(r.urn for r in head.resources if r.type == "platform:index:Platform")
            record.options.pop("aliases", None)
    base = write(before, tmp_path, "before-move")
    result = diff_dirs(base, write(head, tmp_path))
    assert result.resources == [] and result.exit_code == 0
    assert result.moved == [(alias, provider.urn)]

    # The same move without the alias: the provider and every DR-region resource it manages are replaced.
    unaliased = copy.deepcopy(head)
    for record in unaliased.resources:
        record.options.pop("aliases", None)
    result = diff_dirs(base, write(unaliased, tmp_path, "unaliased"))
    replaced = {d.name for d in result.of("replace")}
    dependents = {r.name for r in head.resources if r.provider == provider.urn}
    assert len(dependents) >= 5
    assert replaced == dependents | {"aws-dr"}
    assert result.exit_code == 1 and any("dr-" in reason for reason in result.blocked)


def test_secrets_stay_redacted_in_property_diffs() -> None:
    (change,) = diff_values({"stringData": {"password": SECRET}}, {"stringData": {"password": "hunter2"}})
    assert (change.path, change.old, change.new) == ("stringData.password", SECRET, SECRET)
    (policy,) = diff_values({"policy": '{"Effect": "Allow"}'}, {"policy": '{"Effect": "Deny"}'})
    assert policy.path == "policy(json).Effect"  # JSON documents in strings are compared inside


def test_output_contract_bumps() -> None:
    outputs = json.loads(json.dumps({"stack": STACK, **_outputs()}))
    schema = contract_schema(outputs)
    assert schema is not None

    def bump(edit: Callable[[dict[str, Any]], None], on_base: bool = False) -> tuple[str, str]:
        changed = copy.deepcopy(outputs)
        edit(changed["outputs"])
        base, head = (changed, outputs) if on_base else (outputs, changed)
        result = diff_outputs(base, head, schema)
        return result.bump, result.advice()

    assert bump(lambda o: o["redis"].pop("endpoint"))[0] == "major"
    assert "needs contract v2" in bump(lambda o: o["redis"].pop("endpoint"))[1]
    assert bump(lambda o: o["redis"].update(port="6379"))[0] == "major"
    assert bump(lambda o: o.pop("dr"), on_base=True)[0] == "minor"  # an optional section added by the head
    assert bump(lambda o: o["services"].update(extra={"dns": "x", "port": 1, "autoscaler": "hpa"}))[0] == "none"
    assert bump(lambda o: o["redis"].update(port=6380))[0] == "none"


def _outputs() -> dict[str, Any]:
    result = plan_of(STACK)
    return {"outputs": result.outputs, "secretOutputs": result.secret_outputs}


def test_bad_input_names_the_file_and_exits_2(base_dir: Path, tmp_path: Path, capsys: Any) -> None:
    assert diff_cli.main([str(base_dir), str(tmp_path / "missing")]) == 2
    assert "missing: not a directory" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "resources.json").write_text("[{")
    assert diff_cli.main([str(base_dir), str(broken)]) == 2
    assert "resources.json: not valid JSON" in capsys.readouterr().err
    staging = write(plan_of("staging"), tmp_path)
    assert diff_cli.main([str(base_dir), str(staging)]) == 2
    assert "same stack" in capsys.readouterr().err


def test_markdown_and_json_files(base_dir: Path, tmp_path: Path) -> None:
    def relabel(records: dict[str, ResourceRecord]) -> None:
        records["redis-shard-1"].inputs["spec"]["serviceName"] = "redis-headless-v2"

    head = write(mutated(relabel), tmp_path)
    md, js = tmp_path / "out" / "diff.md", tmp_path / "out" / "diff.json"
    assert diff_cli.main([str(base_dir), str(head), "--markdown", str(md), "--json", str(js)]) == 1
    comment = md.read_text()
    assert "[!CAUTION]" in comment and "| redis |  |  | 1 |  |" in comment
    assert "````diff" in comment and '+ spec.serviceName: "redis-headless-v2"' in comment
    report = json.loads(js.read_text())
    assert len(report["replaced"]) == 1 and report["replaced"][0].endswith("::redis-shard-1")
    assert report["blocked"] and report["added"] == report["removed"] == report["changed"] == []


@pytest.mark.real
def test_make_diff_against_head_in_a_clean_checkout(tmp_path: Path) -> None:
    """`make diff` as CI runs it (a clean checkout of HEAD compared with HEAD): no changes, exit 0, no worktree left."""
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(checkout), "HEAD"], cwd=REPO, check=True)
    try:
        venv = REPO / ".venv"
        done = subprocess.run(
            [
                "make",
                "-s",
                "-o",
                str(venv / ".requirements-installed"),
                "diff",
                "STACK=staging",
                "BASE=HEAD",
                f"VENV={venv}",
            ],
            cwd=checkout,
            capture_output=True,
            text=True,
            env={**os.environ, "MAKEFLAGS": ""},
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "No changes." in done.stdout
        report = json.loads((checkout / "build" / "diff" / "staging.json").read_text())
        assert report["resources"] == [] and report["blocked"] == []
        assert "No changes" in (checkout / "build" / "diff" / "staging.md").read_text()
        assert not list((checkout / "build").glob("diff-base-*")), "the base worktree was left behind"
        listed = subprocess.run(["git", "worktree", "list"], cwd=REPO, capture_output=True, text=True, check=True)
        assert "diff-base-" not in listed.stdout
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=REPO, check=False)
