"""Typed, validated stack outputs of the platform, for the teams that consume them.

- ``PlatformOutputs.from_stack_reference(ref)``: an ``Output`` of the typed model in a Pulumi program;
- ``PlatformOutputs.section(ref, RedisOutputs)``: one section, secret only when that section is;
- ``PlatformOutputs.parse(mapping)`` / ``python -m platform_outputs check FILE|-``: anywhere else.

The models in :mod:`platform_outputs.models` are generated from the published JSON Schema of the contract.
"""

from platform_outputs import models
from platform_outputs.contract import REDACTED, ContractError, Problem, Report
from platform_outputs.models import *  # noqa: F403  (the generated models are this package's public types)
from platform_outputs.models import __version__
from platform_outputs.outputs import PlatformOutputs

__all__ = ["REDACTED", "ContractError", "PlatformOutputs", "Problem", "Report", "__version__"]
__all__ += models.__all__
