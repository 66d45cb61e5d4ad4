"""What the Pulumi CLI checks before anything runs, checked here since the CLI cannot run here."""

from __future__ import annotations

import json

import jsonschema
import yaml

from tests.plans import REPO

PROJECT_SCHEMA = REPO.parent / "shared" / "schemas" / "pulumi-project.schema.json"


def _project() -> dict[str, object]:
    return yaml.safe_load((REPO / "Pulumi.yaml").read_text())


def test_pulumi_yaml_validates_against_pulumis_project_schema() -> None:
    schema_path = PROJECT_SCHEMA if PROJECT_SCHEMA.exists() else REPO / "schema" / "pulumi-project.schema.json"
    schema = json.loads(schema_path.read_text())
    jsonschema.validate(_project(), schema)


def test_runtime_is_python_with_the_projects_virtualenv() -> None:
    runtime = _project()["runtime"]
    assert isinstance(runtime, dict)
    assert runtime["name"] == "python" and runtime["options"]["virtualenv"] == ".venv"


def test_no_project_config_declarations() -> None:
    """Declaring any project config makes the CLI reject every undeclared `platform:*` key, and objects
    cannot be declared; our structured keys are declared by components/platform/config.py instead."""
    assert "config" not in _project()


def test_stack_files_use_only_the_project_namespace_and_known_keys() -> None:
    from components.platform.config import StackConfig

    stack_files = sorted(REPO.glob("Pulumi.*.yaml"))
    assert stack_files, "the repo has no Pulumi.<stack>.yaml files"
    for path in stack_files:
        config = yaml.safe_load(path.read_text())["config"]
        for key in config:
            namespace, _, name = key.partition(":")
            assert namespace == "platform", f"{path.name}: {key}"
            assert name in StackConfig.model_fields, f"{path.name}: {key}"


def test_readme_policy_reference_is_in_sync() -> None:
    from offline.config_reference import POLICY_END, POLICY_START, render_policies

    readme = (REPO / "README.md").read_text()
    current = readme.split(POLICY_START, 1)[1].split(POLICY_END, 1)[0].strip()
    assert current == render_policies().strip(), "run `make docs` to regenerate the policy reference"


def test_requirements_are_pinned_exactly() -> None:
    requirements = [raw.split("#", 1)[0].strip() for raw in (REPO / "requirements.txt").read_text().splitlines()]
    requirements = [r for r in requirements if r]
    assert requirements, "requirements.txt lists no requirements"
    for requirement in requirements:
        assert "==" in requirement, f"requirements.txt: {requirement!r} is not pinned with =="
