"""ConfigMap publishing against a local stand-in API server that records the PATCH."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from functions.predictive_scaler.decision import Decision, Fit
from functions.predictive_scaler.forecast import PARAM_GRID
from functions.predictive_scaler.publish import (
    DOCUMENT_KEY,
    KubeTarget,
    PublishError,
    document,
    publish_configmap,
    publish_file,
)
from tests.functions.predictive_scaler.conftest import FakeServer


def sample_document_decision() -> Decision:
    fit = Fit(
        params=PARAM_GRID[3],
        forecast=np.array([1800.0, 1850.5, 1849.0]),
        upper=np.array([1890.0, 1900.25, 1899.0]),
        quantiles=np.array([0.04, 0.05, 0.05]),
        coverage=0.91234,
        error_ratio=0.25,
        width=0.03,
        reason="",
    )
    return Decision(replicas=42, bound_replicas=42, forecast_rps=1850.5, upper_rps=1900.25, fit=fit, confidence=0.8)


def sample_document(**extra: Any) -> dict[str, Any]:
    return document(
        sample_document_decision(),
        service="backend",
        generated_at="2024-05-01T08:00:00Z",
        look_ahead_minutes=15,
        step_minutes=5,
        cover_minutes=10,
        **extra,
    )


def target(url: str, tmp_path: Path, ca_file: Path | None = None) -> KubeTarget:
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n", encoding="utf-8")
    return KubeTarget.in_cluster(
        name="predictive-scaler-backend", api_url=url, namespace="platform", token_file=token, ca_file=ca_file
    )


def test_patch_request_is_a_merge_patch_of_the_named_configmap(fake_api: FakeServer, tmp_path: Path) -> None:
    publish_configmap(sample_document(), target(fake_api.url, tmp_path))
    [request] = fake_api.requests
    assert request.method == "PATCH"
    assert request.path == "/api/v1/namespaces/platform/configmaps/predictive-scaler-backend"
    assert request.headers["Content-Type"] == "application/merge-patch+json"
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    data = json.loads(request.body)["data"]
    assert data["replicas"] == "42"  # KEDA's metrics-api parses string values as quantities
    assert data["confidence"] == "0.9123"
    assert data["acted"] == "true"
    assert data["generated_at"] == "2024-05-01T08:00:00Z"
    assert all(isinstance(v, str) for v in data.values())  # ConfigMap data holds strings only
    doc = json.loads(data[DOCUMENT_KEY])
    assert doc["replicas"] == 42 and doc["forecast_rps"] == 1850.5 and doc["service"] == "backend"
    assert doc["threshold"] == 0.8 and doc["confidence"] == 0.9123 and doc["reason"] == "trusted"
    assert [p["minutes"] for p in doc["path"]] == [5, 10, 15]
    assert doc["path"][1] == {"minutes": 10, "forecast_rps": 1850.5, "upper_rps": 1900.25}


@pytest.mark.parametrize(
    ("status", "fragment"),
    [
        (404, "does not exist; the Autoscaling component creates it"),
        (403, "needs 'patch' on configmaps/predictive-scaler-backend in platform"),
        (401, "token was rejected"),
    ],
)
def test_api_errors_say_what_to_fix(fake_api: FakeServer, tmp_path: Path, status: int, fragment: str) -> None:
    fake_api.status = status
    with pytest.raises(PublishError, match="configmap platform/predictive-scaler-backend") as caught:
        publish_configmap(sample_document(), target(fake_api.url, tmp_path))
    assert f"HTTP {status}" in str(caught.value) and fragment in str(caught.value)


def test_unreachable_api_server(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="cannot reach the API server"):
        publish_configmap(sample_document(), target("http://127.0.0.1:9", tmp_path), timeout=2)


def test_https_verifies_the_cluster_ca(fake_tls_api: FakeServer, tls_files: tuple[Path, Path], tmp_path: Path) -> None:
    ca_file, _ = tls_files
    publish_configmap(sample_document(), target(fake_tls_api.url, tmp_path, ca_file=ca_file))
    assert [r.method for r in fake_tls_api.requests] == ["PATCH"]
    # Without the cluster CA the server's certificate is not trusted: refuse, do not fall back.
    with pytest.raises(PublishError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        publish_configmap(sample_document(), target(fake_tls_api.url, tmp_path, ca_file=None))
    assert len(fake_tls_api.requests) == 1


def test_in_cluster_defaults_need_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(PublishError, match="--kube-api: not given and KUBERNETES_SERVICE_HOST is unset"):
        KubeTarget.in_cluster(name="x")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    token = tmp_path / "token"
    token.write_text("t", encoding="utf-8")
    kube = KubeTarget.in_cluster(name="x", namespace="ns", token_file=token)
    assert kube.api_url == "https://10.0.0.1:6443" and kube.token == "t"
    with pytest.raises(PublishError, match="--token-file: cannot read"):
        KubeTarget.in_cluster(name="x", namespace="ns", token_file=tmp_path / "none")


def test_file_publishing_is_atomic_json(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "forecast.json"
    publish_file(sample_document(), out)
    assert json.loads(out.read_text())["replicas"] == 42
    assert [p.name for p in out.parent.iterdir()] == ["forecast.json"]  # no temp file left behind


def test_the_live_margin_is_a_plain_decimal_beside_the_count() -> None:
    from functions.predictive_scaler.headroom import Headroom
    from functions.predictive_scaler.publish import configmap_data

    margin = Headroom(1.13748, "", level=0.8, multiple=1.03407, coverage=0.81, last_value_coverage=0.52)
    doc = sample_document(headroom=margin, replicas=5)
    data = configmap_data(doc)
    assert data["headroom"] == "1.1375" and data["replicas"] == "5"  # KEDA parses it as a quantity
    assert doc["headroom"] == {
        "factor": 1.1375,
        "trusted": True,
        "reason": "trusted",
        "level": 0.8,
        "multiple": 1.0341,
        "coverage": 0.81,
        "last_value_coverage": 0.52,
    }
    assert configmap_data(sample_document())["headroom"] == "1"  # no margin: the plain request-rate target
