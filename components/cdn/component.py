"""Cloudflare CDN rules for one zone: zone settings plus exactly one entry-point ruleset per phase.

Cloudflare allows one entry-point ruleset per zone and phase; declaring a second one for the same phase
fails (terraform-provider-cloudflare#2090), and splitting rules over several IaC resources would make
them overwrite each other. So this component owns each phase it manages as a whole: every cache rule in
one ``http_request_cache_settings`` ruleset, and so on, each rule with a stable ``ref``. A phase with no
configured rules still gets its (empty) ruleset, so rules added by hand in the dashboard are removed on
the next ``pulumi up`` instead of silently living on.

Cache purge on deploy is CI's job, not the IaC's: the component exports the zone id and the *name* of
the CI secret holding a purge-scoped token.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.cdn.config import CdnSettings, CdnZone
from components.cdn.rules import PHASE_ROLES, PHASES, phase_rules, zone_settings


class CdnRulesArgs(BaseModel):
    """Inputs of :class:`CdnRules`."""

    model_config = ConfigDict(frozen=True)

    settings: CdnSettings = Field(description="The validated CDN settings (rules shared by every zone).")
    zone: CdnZone = Field(description="The zone these rules are declared on.")
    environment: str = Field(description="Environment tier; part of each ruleset's name.")


class CdnRules(pulumi.ComponentResource):
    """Zone settings and the cache, header, compression and rate-limit rulesets of one Cloudflare zone."""

    zone_id: pulumi.Output[str]
    ruleset_ids: dict[str, pulumi.Output[str]]
    purge_token_name: pulumi.Output[str]

    def __init__(self, name: str, args: CdnRulesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:cdn:CdnRules", name, None, opts)
        import pulumi_cloudflare as cf

        child = pulumi.ResourceOptions(parent=self)
        zone = args.zone
        # Built (and checked) before anything is declared: a bad rule fails the program, not the deploy.
        rules = phase_rules(args.settings, zone)

        self.zone_settings = {
            spec.setting_id: cf.ZoneSetting(
                f"{name}-{spec.role}", zone_id=zone.zone_id, setting_id=spec.setting_id, value=spec.value, opts=child
            )
            for spec in zone_settings(args.settings)
        }
        self.rulesets: dict[str, Any] = {}
        for phase in PHASES:
            self.rulesets[phase] = cf.Ruleset(
                f"{name}-{PHASE_ROLES[phase]}",
                kind="zone",
                phase=phase,
                zone_id=zone.zone_id,
                name=f"platform {args.environment} {phase}",
                description=f"Managed by Pulumi (platform:cdn, {args.environment}); edits elsewhere are overwritten.",
                rules=rules[phase],  # type: ignore[arg-type]  # plain dicts in RulesetRuleArgs shape
                opts=child,
            )
        self.zone_id = pulumi.Output.from_input(zone.zone_id)
        self.ruleset_ids = {phase: ruleset.id for phase, ruleset in self.rulesets.items()}
        self.purge_token_name = pulumi.Output.from_input(args.settings.purge_token_name)
        self.register_outputs(
            {"zone_id": self.zone_id, "ruleset_ids": self.ruleset_ids, "purge_token_name": self.purge_token_name}
        )


def cdn_outputs(settings: CdnSettings, components: dict[str, CdnRules]) -> dict[str, Any]:
    """The ``cdn`` section of the stack outputs (see ``components.platform.outputs.CdnOutputs``)."""
    return {
        "purge_token_name": settings.purge_token_name,
        "zones": {
            zone.name: {
                "zone_id": zone.zone_id,
                "plan": zone.plan,
                "rulesets": components[zone.name].ruleset_ids,
            }
            for zone in settings.zones
        },
    }
