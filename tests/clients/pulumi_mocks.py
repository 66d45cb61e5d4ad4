"""Pulumi's mock engine with a ``StackReference`` that serves another stack's outputs.

A ``StackReference`` is a read of a ``pulumi:pulumi:StackReference`` resource; the engine answers with the
stack's ``outputs`` and ``secretOutputNames`` (every top-level output that holds a secret anywhere inside).
These mocks answer the same way, with the secret values wrapped as secrets, so what a consumer sees goes
through the SDK's real deserialization: numbers become floats, nulls inside maps disappear, and secretness
is tracked per top-level output.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.sync_await import _sync_await

T = TypeVar("T")
STACK_REFERENCE = "pulumi:pulumi:StackReference"


def _wrap_secrets(outputs: Mapping[str, Any], secret_paths: Collection[str]) -> dict[str, Any]:
    wrapped = copy.deepcopy(dict(outputs))
    for path in secret_paths:
        *parents, leaf = path.split(".")
        node = wrapped
        for part in parents:
            node = node[part]
        node[leaf] = pulumi.Output.secret(node[leaf])
    return wrapped


class ReferenceMocks(pulumi.runtime.Mocks):
    """Serves ``stacks[name]`` to ``StackReference(name)``; records every other resource registered."""

    def __init__(self, stacks: Mapping[str, Mapping[str, Any]], secret_paths: Collection[str] = ()) -> None:
        self.stacks = stacks
        self.secret_paths = tuple(secret_paths)
        self.resources: list[MockResourceArgs] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.typ == STACK_REFERENCE:
            name = str(args.inputs["name"])
            if name not in self.stacks:
                raise KeyError(f"no stack {name!r} in these mocks (have: {', '.join(self.stacks)})")
            outputs = self.stacks[name]
            secret_names = sorted({p.split(".")[0] for p in self.secret_paths if p.split(".")[0] in outputs})
            return name, {
                "name": name,
                "outputs": _wrap_secrets(outputs, [p for p in self.secret_paths if p.split(".")[0] in outputs]),
                "secretOutputNames": secret_names,
            }
        self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def install(mocks: ReferenceMocks, project: str = "consumer", stack: str = "dev") -> None:
    """Fresh mock engine (a new root stack each time, so several programs can run in one process)."""
    from pulumi.runtime.settings import ROOT, SETTINGS

    ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    # A program run awaits every Output task the runtime has seen; the applies an earlier test let fail on
    # purpose would fail this run too.
    settings: Any = SETTINGS  # contextproperty attributes the SDK's annotations do not show
    with settings.lock:
        settings.outputs.clear()


def resolve(output: pulumi.Output[T]) -> tuple[T, bool]:
    """An Output's value and whether it is secret (raises what its apply raised)."""
    value = _sync_await(output.future())
    return value, _sync_await(output.is_secret())  # type: ignore[return-value]


def run_program(program: Callable[[], object]) -> None:
    """Run a Pulumi program function to completion on the installed mocks."""
    from pulumi.runtime.stack import run_pulumi_func

    def run() -> None:
        program()

    _sync_await(run_pulumi_func(run))
