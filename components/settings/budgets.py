"""Monthly cost budgets with notifications (seed: $1000/month)."""

from __future__ import annotations

from pydantic import Field, field_validator

from components.settings.base import Settings


class BudgetSettings(Settings):
    enabled: bool = Field(default=True, description="Create cost budgets.")
    monthly_limit_usd: float = Field(default=1000.0, gt=0, description="Monthly budget (seed: $1000).")
    thresholds_percent: tuple[int, ...] = Field(
        default=(50, 80, 100), min_length=1, description="Notify at these percentages of the limit (actual spend)."
    )
    forecast_threshold_percent: int | None = Field(
        default=100, ge=1, le=1000, description="Also notify when the forecast crosses this percentage."
    )
    emails: tuple[str, ...] = Field(default=("finops@example.com",), min_length=1, description="Who is notified.")

    @field_validator("thresholds_percent")
    @classmethod
    def _in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [t for t in value if not 1 <= t <= 1000]
        if bad:
            raise ValueError(f"{bad} outside 1-1000 percent")
        return value

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in value if "@" not in e or " " in e]
        if bad:
            raise ValueError(f"{bad} are not email addresses")
        return value
