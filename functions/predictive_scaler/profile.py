"""Find a service's scaling profile in a stack file, so the CLIs use exactly what the stack ships."""

from __future__ import annotations

from pathlib import Path

from components.config import load_stack_file
from components.settings.services import ServiceSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ProfileError(ValueError):
    """The stack or service named on the command line does not exist or does not fit the request."""


def stack_path(stack: str) -> Path:
    """``prod`` -> ``<project>/Pulumi.prod.yaml``; a path to a ``.yaml`` file is taken as it is."""
    if stack.endswith((".yaml", ".yml")):
        return Path(stack)
    return PROJECT_ROOT / f"Pulumi.{stack}.yaml"


def load_service(stack: str, service: str | None, *, need_prediction: bool = True) -> ServiceSettings:
    """The named service of the stack, or (no name) the first service with prediction enabled.

    Raises ConfigError (from the loader) for an invalid stack file and ProfileError for a missing one or
    an unknown service.
    """
    path = stack_path(stack)
    if not path.is_file():
        raise ProfileError(f"--stack: {path} does not exist (give a stack name such as 'prod' or a stack file)")
    config = load_stack_file(path)
    names = [s.name for s in config.services]
    if service is None:
        for candidate in config.services:
            if candidate.scaling.prediction.enabled or not need_prediction:
                return candidate
        raise ProfileError(
            f"--service: no service in {path} has scaling.prediction.enabled; name one of {', '.join(names)}"
        )
    for candidate in config.services:
        if candidate.name == service:
            return candidate
    raise ProfileError(f"--service: {service!r} is not a service in {path}; choose one of {', '.join(names)}")
