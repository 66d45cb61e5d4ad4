"""Each component package has a reference page, and its generated block matches the code."""

from __future__ import annotations

import pytest

from offline.package_docs import PACKAGES, component_types, current_block, page_path, render_block
from tests.plans import REPO, STACKS, plan_of


def test_every_component_package_is_documented() -> None:
    packages = sorted(p.name for p in (REPO / "components").iterdir() if (p / "__init__.py").exists())
    assert packages, "no component packages found"
    assert packages == sorted(PACKAGES), "a package without a reference page (add it to offline.package_docs)"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_page_is_in_sync(package: str) -> None:
    assert page_path(package).exists(), f"{page_path(package)} is missing: run `make docs`"
    expected = "\n" + render_block(package, {stack: plan_of(stack) for stack in STACKS})
    assert current_block(package) == expected, f"{page_path(package)} drifted from the code: run `make docs`"


def test_every_section_package_declares_a_component() -> None:
    sections = [name for name, spec in PACKAGES.items() if spec.config_keys and name != "platform"]
    assert sections
    for package in sections:
        assert component_types(package), f"components/{package} declares no ComponentResource"
