"""make graph (offline.graph): the prod plan laid out by graphviz names every component, cloud and region."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from offline import graph
from offline.plan import write_plan
from tests.plans import plan_of

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def prod_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("graph") / "prod"
    write_plan(plan_of("prod"), folder)
    return folder


def test_dot_has_a_cluster_per_component_and_the_dependency_edges(prod_dir: Path) -> None:
    records = [r.to_json() for r in plan_of("prod").resources]
    stack_graph = graph.StackGraph(records, "prod")
    source = stack_graph.dot()
    components = [r for r in records if not r["custom"] and r["type"] != "pulumi:pulumi:Stack"]
    assert len(components) > 10
    assert source.count("subgraph cluster_n") == len(components)
    depends = [(r["urn"], d) for r in records for d in r["options"].get("dependsOn", [])]
    assert depends
    for urn, target in depends:
        assert f"{stack_graph.ids[urn]} -> {stack_graph.ids[target]};" in source
    providers = [r for r in records if r["custom"] and r.get("provider")]
    assert source.count("style=dashed") == len(providers)
    # Two AWS regions, two shades of the AWS hue.
    assert stack_graph.colours[("aws", "us-east-1")] != stack_graph.colours[("aws", "us-west-2")]
    assert {c for c, _ in stack_graph.colours} >= {"aws", "azure-native", "gcp", "kubernetes", "cloudflare"}


@pytest.mark.real
@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is installed by make deps")
def test_svg_names_every_component(prod_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "graph.svg"
    assert graph.main([str(prod_dir), "--out", str(out)]) == 0
    texts = {(t.text or "").strip() for t in ET.parse(out).getroot().iter(f"{SVG}text")}
    components = [r for r in plan_of("prod").resources if not r.custom and r.type != "pulumi:pulumi:Stack"]
    assert components
    for component in components:
        assert component.name in texts, f"component {component.name} missing from the SVG"
    assert {"aws: us-east-1", "aws: us-west-2", "gcp: us-central1", "azure-native: eastus2"} <= texts
    assert out.with_suffix(".dot").is_file()


def test_a_missing_plan_is_an_error_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert graph.main([str(tmp_path / "nowhere")]) == 2
    assert re.search(r"nowhere: not a directory", capsys.readouterr().err)
