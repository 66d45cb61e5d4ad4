"""The scaler's own reading of a stack file agrees with the platform's, key for key and default for default.

The predictive scaler ships on its own (the CronJob image), so it parses the few keys it needs itself.
These tests are what keeps the two readings from drifting: both stacks through both parsers, and the
platform's fully defaulted service through the scaler's model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.platform.config import load_stack_file
from components.services.config import ServiceSettings
from functions.predictive_scaler.profile import ProfileError, ServiceProfile, load_service, read_services, stack_path


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_both_parsers_read_the_same_profiles(stack: str) -> None:
    platform = load_stack_file(stack_path(stack)).services
    ours = read_services(stack_path(stack))
    assert len(ours) == len(platform) > 0
    for service, mine in zip(platform, ours, strict=True):
        # The platform's view, every default filled in, seen through the scaler's model ...
        expected = ServiceProfile.model_validate(service.model_dump(mode="json"))
        # ... equals the scaler's own reading of the file, where its defaults fill the gaps.
        assert mine == expected, service.name


def test_defaults_are_the_platforms() -> None:
    bare = ServiceSettings.model_validate({"name": "web", "image": "example/web:1.0.0"})
    assert ServiceProfile(name="web") == ServiceProfile.model_validate(bare.model_dump(mode="json"))
    predicting = ServiceSettings.model_validate(
        {"name": "web", "image": "example/web:1.0.0", "scaling": {"prediction": {"enabled": True}}}
    )
    mine = ServiceProfile.model_validate({"name": "web", "scaling": {"prediction": {"enabled": True}}})
    assert mine == ServiceProfile.model_validate(predicting.model_dump(mode="json"))


def test_prod_ships_a_predictive_service_with_the_seed_windows() -> None:
    service = load_service("prod", None)
    scaling = service.scaling
    assert scaling.prediction.enabled and scaling.prediction.look_ahead_minutes == 30
    assert {("08:00", "10:00"), ("18:00", "22:00")} <= {(w.start, w.end) for w in scaling.schedules}
    assert service.cpu_ceiling_percent == 200.0  # limits 1 / requests 500m


def test_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(
        "config:\n  platform:services:\n    - name: web\n      scaling:\n        max_replicas: 0\n"
        "        scale_up: {stabilization_window_seconds: 30, policies: [], typo: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as caught:
        read_services(stack)
    message = str(caught.value)
    assert str(stack) in message
    assert "services[0].scaling.max_replicas" in message
    assert "services[0].scaling.scale_up.policies" in message
    assert "services[0].scaling.scale_up.typo" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("config: {}\n", "config.platform:services must be a non-empty list"),
        ("config: [\n", "not a readable YAML stack file"),
    ],
)
def test_unusable_stack_files(tmp_path: Path, text: str, fragment: str) -> None:
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=fragment):
        read_services(stack)
    with pytest.raises(ProfileError, match="does not exist"):
        read_services(tmp_path / "Pulumi.none.yaml")


def test_service_lookup(stack_file: Path) -> None:
    assert load_service(str(stack_file), None).name == "backend"  # first with prediction enabled
    assert load_service(str(stack_file), "frontend").name == "frontend"
    with pytest.raises(ProfileError, match=r"'nope' is not a service in .* choose one of frontend, backend"):
        load_service(str(stack_file), "nope")


def test_the_package_never_imports_the_platform() -> None:
    # The CronJob image carries functions/ only: an import of components/ would fail there at start-up.
    import ast

    package = Path(__file__).resolve().parents[3] / "functions" / "predictive_scaler"
    modules = sorted(package.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n == "components" or n.startswith("components.")], module.name
