"""Validate manifests against the vendored Istio CRDs the way the API server would, strictly.

The CRDs' ``openAPIV3Schema`` (version ``v1``) becomes a JSON Schema: ``nullable`` turns into a ``null`` type,
``x-kubernetes-int-or-string`` into integer-or-string, and every object that lists its properties gets
``additionalProperties: false`` unless it is marked ``x-kubernetes-preserve-unknown-fields`` (a structural
schema's API server prunes unknown fields silently; here they are an error, so a misspelt field fails).

The CRDs' CEL rules (``x-kubernetes-validations``) are evaluated too. The vendored CRDs use four rule
texts; each has an exact evaluator below, and any other rule text is an error, so a newer CRD with rules
this module does not understand fails loudly instead of passing unchecked.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_DIR = Path(__file__).parent / "crds"
FILES = {
    "DestinationRule": "destinationrules.networking.istio.io.yaml",
    "VirtualService": "virtualservices.networking.istio.io.yaml",
}
VERSION = "v1"

_GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration_seconds(text: str) -> float:
    """CEL ``duration()`` (Go syntax): ``1h2m3.5s``; raises ValueError on anything else."""
    if not _GO_DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration")
    return sum(float(n) * _UNIT_SECONDS[u] for n, _, u in re.findall(r"([0-9]+(\.[0-9]+)?)(ns|us|µs|ms|s|m|h)", text))


def _min_duration(value: Any) -> bool:
    try:
        return go_duration_seconds(value) >= 1e-3
    except (TypeError, ValueError):
        return False


CEL_RULES: dict[str, Callable[[Any], bool]] = {
    "duration(self) >= duration('1ms')": _min_duration,
    '!self.contains("*")': lambda value: "*" not in value,
    'self.all(key, !key.contains("*"))': lambda value: all("*" not in key for key in value),
    "self.all(key, key.size() != 0)": lambda value: all(len(key) != 0 for key in value),
}


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _convert(value) for key, value in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [*out.get("anyOf", []), {"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    structural = not out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and structural:
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_version_schema(kind: str) -> dict[str, Any]:
    """The raw ``openAPIV3Schema`` of the ``v1`` version of ``kind`` from the vendored CRD."""
    crd = yaml.safe_load((CRD_DIR / FILES[kind]).read_text())
    assert crd["spec"]["names"]["kind"] == kind
    version = next(v for v in crd["spec"]["versions"] if v["name"] == VERSION)
    assert version["served"] and version["storage"], f"{kind} {VERSION} must be served and stored"
    return version["schema"]["openAPIV3Schema"]


@functools.cache
def json_schema(kind: str) -> dict[str, Any]:
    schema = _convert(copy.deepcopy(crd_version_schema(kind)))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["apiVersion"] = {"const": f"networking.istio.io/{VERSION}"}
    schema["properties"]["kind"] = {"const": kind}
    schema["properties"]["metadata"] = {
        "type": "object",
        "required": ["name", "namespace"],
        "properties": {"name": {"type": "string", "maxLength": 253}, "namespace": {"type": "string"}},
    }
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    schema["additionalProperties"] = False
    return schema


def _cel_failures(schema: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations", []):
        check = CEL_RULES.get(rule["rule"])
        if check is None:
            yield f"{path}: CEL rule {rule['rule']!r} has no evaluator here; add one to CEL_RULES"
        elif not check(value):
            yield f"{path}: {rule.get('message', rule['rule'])}"
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                yield from _cel_failures(sub, item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _cel_failures(schema["items"], item, f"{path}[{index}]")


def problems(manifest: dict[str, Any]) -> list[str]:
    """Every schema and CEL violation of ``manifest`` (empty: the API server would accept it as written)."""
    kind = manifest.get("kind")
    if kind not in FILES:
        return [f"kind {kind!r} has no vendored CRD"]
    validator = jsonschema.Draft202012Validator(json_schema(kind))
    found = [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(manifest)]
    found += list(_cel_failures(crd_version_schema(kind), manifest, "<root>"))
    return found
