"""Metrics on a real Pushgateway (Debian's prometheus-pushgateway): the exposition text is accepted, the
group is job=dr_controller/database_id, and a POST of some names keeps the others."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.dr.metrics import Metrics, render
from tests.functions.backup.conftest import free_port, stop, wait_port

pytestmark = pytest.mark.real


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "pushgateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_port(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _scrape(url: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=60) as response:
        text = response.read().decode()
    return {
        line.rpartition(" ")[0]: line.rpartition(" ")[2]
        for line in text.splitlines()
        if line.startswith("dr_controller_")
    }


def test_push_keeps_other_names_and_labels_the_group(pushgateway: str) -> None:
    metrics = Metrics("prod-main", pushgateway_url=pushgateway, timeout=60)  # a loaded machine is slow, not down
    metrics.send({"dr_controller_rto_seconds": 85.0, "dr_controller_promoted": 1.0}, 0)
    metrics.send({"dr_controller_primary_up": 0.0}, 0)
    assert metrics.warnings == []
    seen = _scrape(pushgateway)
    labels = '{database_id="prod-main",instance="",job="dr_controller"}'
    assert seen[f"dr_controller_rto_seconds{labels}"] == "85"
    assert seen[f"dr_controller_promoted{labels}"] == "1"
    assert seen[f"dr_controller_primary_up{labels}"] == "0"


def test_unreachable_gateway_is_a_warning_and_unknown_names_an_error() -> None:
    metrics = Metrics("prod-main", pushgateway_url=f"http://127.0.0.1:{free_port()}")
    metrics.send({"dr_controller_primary_up": 1.0}, 0)
    assert metrics.warnings and "pushgateway" in metrics.warnings[0]
    with pytest.raises(ValueError, match="unknown metrics"):
        metrics.send({"dr_made_up": 1.0}, 0)
    assert "# TYPE dr_controller_primary_up gauge" in render({"dr_controller_primary_up": 1.0})
