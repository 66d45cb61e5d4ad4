"""Publishing the decision where KEDA reads it: a ConfigMap (primary), a file, or stdout.

Primary path: a JSON merge-patch of one named ConfigMap through the Kubernetes API, authenticated with
the pod's service-account token and verified against the in-cluster CA, with urllib (no client
library). KEDA's ``metrics-api`` trigger then GETs that ConfigMap from the API server and reads
``data.replicas`` (KEDA parses a string value as a Kubernetes quantity). The exact contract and the
RBAC it needs are in README.md beside this file.
"""

from __future__ import annotations

import json
import math
import os
import ssl
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.predictive_scaler.decision import Decision
from functions.predictive_scaler.headroom import NO_HEADROOM, Headroom

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DOCUMENT_KEY = "forecast.json"


class PublishError(RuntimeError):
    """The decision could not be published; the message says where and why."""


def configmap_name(service: str) -> str:
    return f"predictive-scaler-{service}"


def _figure(value: float, digits: int = 4) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def document(
    decision: Decision,
    *,
    service: str,
    generated_at: str,
    look_ahead_minutes: int,
    step_minutes: float,
    cover_minutes: float,
    headroom: Headroom = NO_HEADROOM,
    replicas: int | None = None,
) -> dict[str, Any]:
    """The JSON document (also the content of the ConfigMap's ``forecast.json`` key).

    ``threshold`` is the bound's stated confidence; ``confidence`` the share of busy samples of the
    last ``gate_days`` that stayed at or below a bound calibrated before them (``null`` until enough
    outcomes exist to judge): the calibration the gate compares with the threshold. ``replicas`` is what
    KEDA reads when the run publishes something other than the decision's count (headroom.one_mechanism);
    ``headroom`` is the live margin and its backtest.
    """
    fit = decision.fit
    return {
        "service": service,
        "replicas": decision.replicas if replicas is None else replicas,
        "acted": decision.acted,
        "reason": decision.reason,
        "threshold": decision.confidence,
        "confidence": _figure(fit.coverage),
        "error_ratio": _figure(fit.error_ratio),
        "last_value_coverage": _figure(fit.last_value_coverage),
        "width": _figure(fit.width),
        "forecast_rps": round(decision.forecast_rps, 3),
        "upper_rps": round(decision.upper_rps, 3),
        "provision_level": _figure(fit.level),
        "provision_rps": round(decision.provision_rps, 3),
        "forecast_replicas": decision.bound_replicas,
        "cover_minutes": cover_minutes,
        "look_ahead_minutes": look_ahead_minutes,
        "path": [
            {
                "minutes": round(step_minutes * (i + 1), 3),
                "forecast_rps": round(float(f), 3),
                "upper_rps": round(float(u), 3) if math.isfinite(u) else None,
            }
            for i, (f, u) in enumerate(zip(fit.forecast, fit.upper, strict=True))
        ],
        "model": fit.params.label() if fit.params is not None else None,
        "headroom": headroom_document(headroom),
        "generated_at": generated_at,
    }


def headroom_document(headroom: Headroom) -> dict[str, Any]:
    """The live margin KEDA multiplies the request rate by, and why (``factor`` 1: none)."""
    return {
        "factor": round(headroom.factor, 4),
        "trusted": headroom.trusted,
        "reason": headroom.reason or "trusted",
        "level": _figure(headroom.level),
        "multiple": _figure(headroom.multiple),
        "coverage": _figure(headroom.coverage),
        "last_value_coverage": _figure(headroom.last_value_coverage),
    }


def configmap_data(doc: dict[str, Any]) -> dict[str, str]:
    """ConfigMap ``data`` (string values only): one key per field KEDA or a human reads, plus the document."""
    return {
        "replicas": str(doc["replicas"]),
        "confidence": "" if doc["confidence"] is None else str(doc["confidence"]),
        "forecast_rps": str(doc["forecast_rps"]),
        "acted": "true" if doc["acted"] else "false",
        "headroom": _quantity(doc.get("headroom", {}).get("factor", 1.0)),
        "generated_at": str(doc["generated_at"]),
        DOCUMENT_KEY: json.dumps(doc, sort_keys=True),
    }


def _quantity(value: float) -> str:
    """A plain decimal KEDA parses as a quantity ("1", "1.1374"): never an exponent."""
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return text or "0"


def publish_stdout(doc: dict[str, Any]) -> None:
    print(json.dumps(doc, sort_keys=True))


def publish_file(doc: dict[str, Any], path: Path) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a document."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
            json.dump(doc, handle, sort_keys=True)
            handle.write("\n")
        Path(handle.name).replace(path)
    except OSError as exc:
        raise PublishError(f"--output: cannot write {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class KubeTarget:
    api_url: str
    namespace: str
    name: str
    token: str
    ca_file: Path | None

    @classmethod
    def in_cluster(
        cls,
        *,
        name: str,
        api_url: str | None = None,
        namespace: str | None = None,
        token_file: Path | None = None,
        ca_file: Path | None = None,
    ) -> KubeTarget:
        """Fill what is not given from the pod's environment and mounted service-account files."""
        if api_url is None:
            host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            if not host:
                raise PublishError("--kube-api: not given and KUBERNETES_SERVICE_HOST is unset (not in a pod?)")
            api_url = f"https://{host}:{port}"
        token_path = token_file or SERVICE_ACCOUNT_DIR / "token"
        try:
            token = token_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PublishError(f"--token-file: cannot read {token_path}: {exc.strerror or exc}") from None
        if namespace is None:
            namespace_path = SERVICE_ACCOUNT_DIR / "namespace"
            try:
                namespace = namespace_path.read_text(encoding="utf-8").strip()
            except OSError:
                raise PublishError(f"--namespace: not given and {namespace_path} is not readable") from None
        if ca_file is None and api_url.startswith("https://"):
            default_ca = SERVICE_ACCOUNT_DIR / "ca.crt"
            ca_file = default_ca if default_ca.is_file() else None
        return cls(api_url.rstrip("/"), namespace, name, token, ca_file)


def publish_configmap(doc: dict[str, Any], target: KubeTarget, *, timeout: float = 10.0) -> None:
    """JSON merge-patch of ``data`` on the named ConfigMap (needs only ``patch`` on that one object)."""
    path = (
        f"/api/v1/namespaces/{urllib.parse.quote(target.namespace, safe='')}"
        f"/configmaps/{urllib.parse.quote(target.name, safe='')}"
    )
    body = json.dumps({"data": configmap_data(doc)}).encode()
    request = urllib.request.Request(
        target.api_url + path,
        data=body,
        method="PATCH",
        headers={
            "Content-Type": "application/merge-patch+json",
            "Accept": "application/json",
            "Authorization": f"Bearer {target.token}",
        },
    )
    context = None
    if target.api_url.startswith("https://"):
        try:
            context = ssl.create_default_context(cafile=str(target.ca_file) if target.ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise PublishError(f"--ca-file: cannot load {target.ca_file}: {exc}") from None
    where = f"configmap {target.namespace}/{target.name} at {target.api_url}"
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        hints = {
            401: "the service-account token was rejected",
            403: f"the service account needs 'patch' on configmaps/{target.name} in {target.namespace}",
            404: "it does not exist; the Autoscaling component creates it before the CronJob runs",
        }
        hint = hints.get(exc.code, exc.read()[:200].decode("utf-8", "replace"))
        raise PublishError(f"{where}: HTTP {exc.code}: {hint}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PublishError(f"{where}: cannot reach the API server: {getattr(exc, 'reason', exc)}") from None


def log(message: str) -> None:
    print(message, file=sys.stderr)
