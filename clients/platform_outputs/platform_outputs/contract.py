"""Check a set of stack outputs against the contract and say, field by field, what does not fit.

Used by both entry points: :meth:`PlatformOutputs.from_stack_reference` (values resolved by Pulumi, secrets
in clear) and ``python -m platform_outputs check`` (``pulumi stack output --json``, where a secret is the
placeholder ``"[secret]"`` unless ``--show-secrets`` was given). The contract's major version is checked
first: a stack publishing another major version is reported as that, not as a page of field errors.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from platform_outputs._base import SECRET_MARKER
from platform_outputs.models import CONTRACT_VERSION, StackOutputs, __version__

#: What ``pulumi stack output --json`` (and the offline plan) print in place of a secret value.
REDACTED = "[secret]"

ModelT = TypeVar("ModelT", bound=StackOutputs)


@dataclass(frozen=True)
class Problem:
    """One field that does not fit: where (dotted path, ``[i]`` for list items) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ContractError(ValueError):
    """The outputs do not fit the contract this client was generated from; names every field and both versions."""

    def __init__(self, problems: Sequence[Problem], stack_version: Any) -> None:
        self.problems = tuple(problems)
        self.stack_version = stack_version
        self.client_version = CONTRACT_VERSION
        super().__init__(str(self))

    def __str__(self) -> str:
        head = (
            f"platform stack outputs (contract_version {_show(self.stack_version)}) do not fit contract "
            f"v{self.client_version} of this client (platform-outputs {__version__}):"
        )
        return "\n  ".join([head, *(str(p) for p in self.problems)])


@dataclass(frozen=True)
class Report:
    """The outcome of checking one set of outputs."""

    problems: tuple[Problem, ...]
    stack_version: Any
    outputs: StackOutputs | None = None
    sections: tuple[str, ...] = ()
    redacted: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    environment: str | None = None
    namespace: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: what fits (or how many fields do not)."""
        if not self.ok:
            return (
                f"does not fit contract v{CONTRACT_VERSION} (stack contract_version {_show(self.stack_version)}): "
                f"{len(self.problems)} field(s): {', '.join(p.path for p in self.problems)}"
            )
        parts = [
            f"fits contract v{CONTRACT_VERSION}: {self.environment} stack, namespace {self.namespace}, "
            f"{len(self.sections)} section(s) ({', '.join(self.sections) or 'none'})"
        ]
        if self.redacted:
            parts.append(f"{len(self.redacted)} secret value(s) redacted: present, type not checked")
        if self.hidden:
            parts.append(f"hidden as a whole, not checked: {', '.join(self.hidden)}")
        if self.unknown:
            parts.append(f"{len(self.unknown)} field(s) newer than this client ignored: {', '.join(self.unknown)}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "contract_version": CONTRACT_VERSION,
            "client_version": __version__,
            "stack_contract_version": self.stack_version,
            "problems": [{"path": p.path, "message": p.message} for p in self.problems],
            "sections": list(self.sections),
            "redacted": list(self.redacted),
            "hidden": list(self.hidden),
            "unknown": list(self.unknown),
            "summary": self.summary(),
        }


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _strip(annotation: Any) -> Any:
    """``Annotated[T, ...]`` -> ``T``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _options(annotation: Any) -> list[Any]:
    """The non-None members of a union (or the annotation itself)."""
    annotation = _strip(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_strip(a) for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_is_secret(info: Any) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, Mapping) and bool(extra.get(SECRET_MARKER))


def holds_secret(annotation: Any, _seen: frozenset[type] = frozenset()) -> bool:
    """Whether a value of this type contains a field the contract marks secret."""
    for option in _options(annotation):
        if option is SecretStr:
            return True
        if _is_model(option):
            if option in _seen:
                continue
            for info in option.model_fields.values():
                if _field_is_secret(info) or holds_secret(info.annotation, _seen | {option}):
                    return True
        else:
            for arg in typing.get_args(option):
                if holds_secret(arg, _seen):
                    return True
    return False


@dataclass
class _Walk:
    """What a pass over the data along the contract's types finds before validation."""

    redacted: list[str] = field(default_factory=list)  # secret fields shown as the placeholder
    hidden: list[str] = field(default_factory=list)  # whole parts shown as the placeholder, holding a secret
    misplaced: list[str] = field(default_factory=list)  # the placeholder where the contract publishes plain
    unknown: list[str] = field(default_factory=list)
    secret_paths: set[str] = field(default_factory=set)

    def visit(self, value: Any, annotation: Any, path: str, secret: bool, placeholders: bool) -> None:
        if secret:
            self.secret_paths.add(path)
        if placeholders and value == REDACTED:
            if secret:
                self.redacted.append(path)
            elif holds_secret(annotation):
                self.hidden.append(path)
            else:
                self.misplaced.append(path)
            return
        options = _options(annotation)
        models = [o for o in options if _is_model(o)]
        if isinstance(value, Mapping) and len(models) == 1:
            self.visit_model(value, models[0], path, placeholders)
            return
        if len(options) != 1:
            return
        option = options[0]
        origin, args = typing.get_origin(option), typing.get_args(option)
        if origin is dict and isinstance(value, Mapping) and len(args) == 2:
            for key, item in value.items():
                self.visit(item, args[1], _join(path, str(key)), secret, placeholders)
        elif origin is list and isinstance(value, list) and args:
            for index, item in enumerate(value):
                self.visit(item, args[0], _join(path, index), secret, placeholders)

    def visit_model(self, value: Mapping[str, Any], model: type[BaseModel], path: str, placeholders: bool) -> None:
        by_key = {(info.alias or name): info for name, info in model.model_fields.items()}
        for key, item in value.items():
            info = by_key.get(str(key))
            if info is None:
                self.unknown.append(_join(path, str(key)))
                continue
            self.visit(item, info.annotation, _join(path, str(key)), _field_is_secret(info), placeholders)


_ABSENT = object()


def _child(node: Any, part: str | int) -> Any:
    """``node[part]`` when the data has it, else ``_ABSENT``."""
    if isinstance(node, Mapping) and isinstance(part, str) and part in node:
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _error_path(data: Any, loc: Sequence[str | int]) -> str:
    """The data path of a validation error.

    ``loc`` also holds union member tags (``function-before[...]``, ``str``) that are not part of the data: a
    part is followed only where the data has it; a last part the data lacks is the missing field's name.
    """
    path, node = "", data
    for index, part in enumerate(loc):
        child = _child(node, part)
        if child is not _ABSENT:
            path, node = _join(path, part), child
        elif index == len(loc) - 1 and isinstance(node, Mapping):
            path = _join(path, part)
    return path or "(top level)"


def _under(path: str, prefixes: Collection[str]) -> bool:
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in prefixes)


def _problems_of(
    exc: ValidationError, data: Any, prefix: tuple[str, ...], secret_paths: Collection[str]
) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        path = _error_path(data, (*prefix, *error["loc"]))
        if error["type"] == "missing":
            message = f"missing (required by contract v{CONTRACT_VERSION})"
        elif _under(path, secret_paths):
            message = f"{error['msg']} (value not shown: the contract marks it secret)"
        else:
            got = error.get("input")
            message = f"{error['msg']}, got {_show(got)} ({type(got).__name__})"
        problems.append(Problem(path, message))
    return problems


def _version_problem(stack_version: Any) -> Problem | None:
    """A stack on another major version: one problem instead of a page of field errors."""
    if stack_version is None or stack_version == CONTRACT_VERSION:
        return None
    message = (
        f"the stack publishes contract v{stack_version}, this client reads v{CONTRACT_VERSION} "
        f"(platform-outputs {__version__}); use a platform-outputs release for contract v{stack_version}"
    )
    return Problem("contract_version", message)


ValidatedT = TypeVar("ValidatedT", bound=BaseModel)


def _validate(
    value: Mapping[str, Any], model: type[ValidatedT], prefix: str, placeholders: bool
) -> tuple[ValidatedT | None, list[Problem], _Walk]:
    """``value`` validated as ``model``, with problems at data paths under ``prefix``."""
    walk = _Walk()
    walk.visit_model(value, model, prefix, placeholders)
    problems = [
        Problem(path, f"is {REDACTED!r}, but the contract publishes it in plain (a secret it does not declare)")
        for path in walk.misplaced
    ]
    try:
        return model.model_validate(dict(value)), problems, walk
    except ValidationError as exc:
        skip = [*walk.redacted, *walk.hidden, *walk.misplaced]
        data, loc = ({prefix: value}, (prefix,)) if prefix else (value, ())
        problems += [p for p in _problems_of(exc, data, loc, walk.secret_paths) if not _under(p.path, skip)]
        return None, problems, walk


def check(
    outputs: Any,
    *,
    require: Collection[str] = (),
    placeholders: bool = True,
    model: type[StackOutputs] = StackOutputs,
) -> Report:
    """Check ``outputs`` (a mapping of stack output name -> value) against the contract.

    ``require`` names optional sections this consumer cannot do without: absent or null is then a problem.
    With ``placeholders``, a ``"[secret]"`` where the contract marks a secret is accepted (its type cannot be
    checked); where the contract publishes a plain value, it is a problem.
    """
    unknown_sections = sorted(set(require) - set(model.model_fields))
    if unknown_sections:
        raise ValueError(
            f"cannot require {', '.join(unknown_sections)}: not in contract v{CONTRACT_VERSION} "
            f"(sections: {', '.join(sorted(model.model_fields))})"
        )
    if not isinstance(outputs, Mapping):
        problem = Problem("(top level)", f"expected an object of stack outputs, got {type(outputs).__name__}")
        return Report(problems=(problem,), stack_version=None)
    stack_version = outputs.get("contract_version")
    version_problem = _version_problem(stack_version)
    if version_problem is not None:
        return Report(problems=(version_problem,), stack_version=stack_version)
    parsed, problems, walk = _validate(outputs, model, "", placeholders)
    for name in require:
        if outputs.get(name) is None:
            problems.append(Problem(name, "absent, and this consumer requires it (the stack has it turned off)"))
    problems.sort(key=lambda p: p.path)
    sections = tuple(
        name
        for name, info in model.model_fields.items()
        if outputs.get(name) is not None and any(_is_model(o) for o in _options(info.annotation))
    )
    return Report(
        problems=tuple(problems),
        stack_version=stack_version,
        outputs=parsed if not problems else None,
        sections=sections,
        redacted=tuple(walk.redacted),
        hidden=tuple(walk.hidden),
        unknown=tuple(walk.unknown),
        environment=outputs.get("environment") if isinstance(outputs.get("environment"), str) else None,
        namespace=outputs.get("namespace") if isinstance(outputs.get("namespace"), str) else None,
    )


def parse(outputs: Any, *, require: Collection[str] = (), model: type[ModelT]) -> ModelT:
    """The outputs as a validated ``model``; :class:`ContractError` naming every field that does not fit."""
    report = check(outputs, require=require, placeholders=False, model=model)
    if not report.ok or report.outputs is None:
        raise ContractError(report.problems, report.stack_version)
    assert isinstance(report.outputs, model)
    return report.outputs


def parse_section(stack_version: Any, name: str, value: Any, model: type[ValidatedT]) -> ValidatedT:
    """One section's value validated as ``model``; :class:`ContractError` when absent or not fitting."""
    version_problem = _version_problem(stack_version)
    if version_problem is not None:
        raise ContractError([version_problem], stack_version)
    if stack_version is None:
        raise ContractError([Problem("contract_version", "missing: not a platform stack?")], stack_version)
    if value is None:
        problem = Problem(name, "absent, and this consumer requires it (the stack has it turned off)")
        raise ContractError([problem], stack_version)
    if not isinstance(value, Mapping):
        problem = Problem(name, f"expected an object, got {_show(value)} ({type(value).__name__})")
        raise ContractError([problem], stack_version)
    parsed, problems, _ = _validate(value, model, name, placeholders=False)
    if problems or parsed is None:
        raise ContractError(problems, stack_version)
    return parsed
