"""One monthly cost budget (seed: $1000/month) split across the clouds the stack enables.

AWS always (the primary cloud); Azure (consumption Budget on the subscription) and GCP (billing Budget)
when ``cloud.azure`` / ``cloud.gcp`` are enabled. Each cloud's budget only sees that cloud's spend, so
giving each the whole limit would allow three times the money: ``split`` says explicitly which part of
``monthly_limit_usd`` each cloud gets, and must add up to it. A GCP budget belongs to a billing account,
which nothing else in the stack knows: ``gcp_billing_account`` is then required.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.lib.settings import Settings, raise_problems

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
MAX_NOTIFICATIONS = 5
"""AWS Budgets and Azure consumption budgets both accept at most five notifications per budget."""
MAX_EMAILS = 5
"""GCP budgets take at most five notification channels (one per address); AWS allows ten per notification."""
BUDGET_CLOUDS = ("aws", "azure", "gcp")
Cloud = Literal["aws", "azure", "gcp"]
CENT = 0.005
"""Tolerance when a split is compared with its total: budgets are set in cents."""


class BudgetSettings(Settings):
    enabled: bool = Field(default=True, description="Create cost budgets.")
    monthly_limit_usd: float = Field(default=1000.0, gt=0, le=10_000_000, description="Monthly budget (seed: $1000).")
    thresholds_percent: tuple[int, ...] = Field(
        default=(50, 80, 100), min_length=1, description="Notify at these percentages of the limit (actual spend)."
    )
    forecast_threshold_percent: int | None = Field(
        default=100, ge=1, le=1000, description="Also notify when the forecast crosses this percentage (None: no)."
    )
    emails: tuple[str, ...] = Field(default=("finops@example.com",), min_length=1, description="Who is notified.")
    gcp_billing_account: str | None = Field(
        default=None,
        description="GCP billing account id (XXXXXX-XXXXXX-XXXXXX); required when cloud.gcp.enabled.",
    )
    gcp_project_number: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6,20}$",
        description="Limit the GCP budget to this project (number, not id); None: the whole billing account.",
    )
    split: dict[Cloud, float] | None = Field(
        default=None,
        description="How monthly_limit_usd is divided among the clouds ({aws: 700, azure: 150, gcp: 150}); in USD, or "
        "in percent with split_unit: percent. Must add up to the limit and name exactly the enabled clouds. None: "
        "the whole limit on AWS, allowed only when neither cloud.azure nor cloud.gcp is enabled.",
    )
    split_unit: Literal["usd", "percent"] = Field(
        default="usd", description="Unit of the split values: USD amounts (the default) or percent of the limit."
    )
    azure_start_date: dt.date = Field(
        default=dt.date(2025, 1, 1),
        description="First month of the Azure budget (Azure requires the first day of a month).",
    )

    @field_validator("thresholds_percent")
    @classmethod
    def _in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [t for t in value if not 1 <= t <= 1000]
        if bad:
            raise ValueError(f"{bad} outside 1-1000 percent")
        if len(set(value)) != len(value):
            raise ValueError(f"{list(value)} repeats a threshold")
        if list(value) != sorted(value):
            raise ValueError(f"{list(value)} must be in increasing order")
        return value

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in value if not _EMAIL.match(e)]
        if bad:
            raise ValueError(f"{bad} are not email addresses")
        return value

    @field_validator("gcp_billing_account")
    @classmethod
    def _billing_account(cls, value: str | None) -> str | None:
        if value is not None and not BILLING_ACCOUNT.match(value):
            raise ValueError(f"{value!r} is not a billing account id (XXXXXX-XXXXXX-XXXXXX, hex digits)")
        return value

    @field_validator("azure_start_date")
    @classmethod
    def _first_of_month(cls, value: dt.date) -> dt.date:
        if value.day != 1:
            raise ValueError(f"{value.isoformat()} is not the first day of a month (Azure budgets start on one)")
        return value

    @field_validator("split")
    @classmethod
    def _positive_shares(cls, value: dict[Cloud, float] | None) -> dict[Cloud, float] | None:
        bad = {cloud: share for cloud, share in (value or {}).items() if share <= 0}
        if bad:
            raise ValueError(f"{bad}: every share must be above 0 (leave a cloud out by disabling it)")
        return value

    @property
    def split_total(self) -> float:
        """What the split values must add up to, in their own unit."""
        return 100.0 if self.split_unit == "percent" else self.monthly_limit_usd

    def shares_usd(self, clouds: tuple[str, ...]) -> dict[str, float]:
        """Each enabled cloud's monthly limit in USD (cents), summing to ``monthly_limit_usd``."""
        if self.split is None:
            return {"aws": round(self.monthly_limit_usd, 2)} if clouds == ("aws",) else {}
        scale = self.monthly_limit_usd / 100 if self.split_unit == "percent" else 1.0
        return {cloud: round(share * scale, 2) for cloud, share in self.split.items() if cloud in clouds}

    @model_validator(mode="after")
    def _split_adds_up(self) -> BudgetSettings:
        if self.split is not None:
            total = sum(self.split.values())
            if abs(total - self.split_total) > CENT:
                unit, want = ("percent", "100") if self.split_unit == "percent" else ("USD", "monthly_limit_usd")
                raise_problems(
                    [
                        f"split: {dict(self.split)} adds up to {total:g} {unit}, not {want} {self.split_total:g} "
                        "(one monthly budget divided among the clouds, never one per cloud)"
                    ]
                )
        return self

    @model_validator(mode="after")
    def _provider_limits(self) -> BudgetSettings:
        count = len(self.thresholds_percent) + (self.forecast_threshold_percent is not None)
        problems = []
        if count > MAX_NOTIFICATIONS:
            problems.append(
                f"thresholds_percent: {count} notifications (with the forecast one); AWS and Azure allow "
                f"{MAX_NOTIFICATIONS} per budget"
            )
        if len(self.emails) > MAX_EMAILS:
            problems.append(f"emails: {len(self.emails)} addresses; GCP budgets allow {MAX_EMAILS} channels")
        raise_problems(problems)
        return self


def split_problems(budgets: BudgetSettings, enabled: tuple[str, ...]) -> list[str]:
    """The split names exactly the clouds that get a budget (``enabled``: aws plus the enabled others)."""
    if not budgets.enabled:
        return []
    if budgets.split is None:
        if enabled == ("aws",):
            return []
        example = ", ".join(f"{cloud}: ..." for cloud in enabled)
        return [
            f"budgets.split: required when {' and '.join(f'cloud.{c}.enabled' for c in enabled if c != 'aws')} "
            f"(each cloud's budget sees only its own spend; divide monthly_limit_usd {budgets.monthly_limit_usd:g} "
            f"explicitly, e.g. {{{example}}})"
        ]
    problems = [
        f"budgets.split.{cloud}: cloud.{cloud}.enabled is false (budgets exist only on enabled clouds: "
        f"{', '.join(enabled)})"
        for cloud in budgets.split
        if cloud not in enabled
    ]
    problems += [
        f"budgets.split.{cloud}: missing; cloud.{cloud} is enabled and gets a budget, so it needs its share"
        for cloud in enabled
        if cloud not in budgets.split
    ]
    return problems
