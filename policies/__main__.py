"""The CrossGuard policy pack. This is the only module that constructs ``PolicyPack``: constructing it
starts the analyzer gRPC server and blocks, so the rules live in ``rules/`` where tests and the offline
gate (``python -m policies.check``) import them without starting anything.

Run by the engine with this directory as the working directory (``pulumi preview --policy-pack policies``).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import ALL_POLICIES

PolicyPack(
    name="platform-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=list(ALL_POLICIES),
    description="Guardrails for the web platform stack (storage, Kubernetes, autoscaling, Redis, CDN, DR, IAM).",
)
