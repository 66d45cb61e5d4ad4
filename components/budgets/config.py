"""Monthly cost budgets with notifications (seed: $1000/month), on every cloud the stack enables.

AWS always (the primary cloud); Azure (consumption Budget on the subscription) and GCP (billing Budget)
when ``cloud.azure`` / ``cloud.gcp`` are enabled. A GCP budget belongs to a billing account, which
nothing else in the stack knows: ``gcp_billing_account`` is then required.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import Field, field_validator, model_validator

from components.lib.settings import Settings, raise_problems

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
MAX_NOTIFICATIONS = 5
"""AWS Budgets and Azure consumption budgets both accept at most five notifications per budget."""
MAX_EMAILS = 5
"""GCP budgets take at most five notification channels (one per address); AWS allows ten per notification."""


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
