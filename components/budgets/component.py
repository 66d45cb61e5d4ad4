"""One monthly cost budget (seed: $1000/month) split across the clouds the stack uses, with email notifications.

Each cloud's budget gets its share of ``monthly_limit_usd`` from ``budgets.split`` (all of it on AWS when no
other cloud is enabled), so the three budgets add up to the one configured total.

- AWS: ``aws.budgets.Budget`` (COST, MONTHLY) with one ACTUAL notification per threshold and one
  FORECASTED notification, all as percentages of the limit.
- Azure (when ``cloud.azure.enabled``): an ``azure-native`` consumption ``Budget`` on the subscription with
  the same Actual/Forecasted notifications.
- GCP (when ``cloud.gcp.enabled``): a ``gcp.billing.Budget`` on the billing account (optionally limited to
  one project) with CURRENT_SPEND / FORECASTED_SPEND threshold rules, mailing through one Cloud Monitoring
  email channel per address.

Providers come in through ``opts.providers`` (keys ``aws``, ``azure-native``, ``gcp``) and children inherit
them.
"""

from __future__ import annotations

import math
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.budgets.config import BudgetSettings


class BudgetNotification(BaseModel):
    """One notification, cloud-neutral: ``kind`` actual spend or forecast, ``percent`` of the limit."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="`actual` or `forecast`.")
    percent: int = Field(description="Percentage of the monthly limit.")


def notifications(settings: BudgetSettings) -> list[BudgetNotification]:
    found = [BudgetNotification(kind="actual", percent=p) for p in settings.thresholds_percent]
    if settings.forecast_threshold_percent is not None:
        found.append(BudgetNotification(kind="forecast", percent=settings.forecast_threshold_percent))
    return found


def aws_notifications(settings: BudgetSettings) -> list[dict[str, Any]]:
    return [
        {
            "comparison_operator": "GREATER_THAN",
            "notification_type": "ACTUAL" if n.kind == "actual" else "FORECASTED",
            "threshold": float(n.percent),
            "threshold_type": "PERCENTAGE",
            "subscriber_email_addresses": list(settings.emails),
        }
        for n in notifications(settings)
    ]


def azure_notifications(settings: BudgetSettings) -> dict[str, dict[str, Any]]:
    return {
        f"{n.kind}-{n.percent}-percent": {
            "enabled": True,
            "operator": "GreaterThan",
            "threshold": float(n.percent),
            "threshold_type": "Actual" if n.kind == "actual" else "Forecasted",
            "contact_emails": list(settings.emails),
        }
        for n in notifications(settings)
    }


def gcp_threshold_rules(settings: BudgetSettings) -> list[dict[str, Any]]:
    return [
        {
            "threshold_percent": n.percent / 100,
            "spend_basis": "CURRENT_SPEND" if n.kind == "actual" else "FORECASTED_SPEND",
        }
        for n in notifications(settings)
    ]


def gcp_amount(limit_usd: float) -> dict[str, Any]:
    """GCP money: whole ``units`` (a string) plus ``nanos``."""
    units = math.floor(limit_usd)
    return {"currency_code": "USD", "units": str(units), "nanos": round((limit_usd - units) * 1e9)}


class BudgetsArgs(BaseModel):
    """Inputs of :class:`Budgets`."""

    model_config = ConfigDict(frozen=True)

    settings: BudgetSettings = Field(default_factory=BudgetSettings, description="Validated settings.")
    environment: str = Field(description="Stack environment; part of every budget's name.")
    azure: bool = Field(default=False, description="Create the Azure budget (the azure-native provider is given).")
    azure_subscription_id: str | None = Field(
        default=None, description="Budget scope; None uses the provider's subscription (client config)."
    )
    gcp: bool = Field(default=False, description="Create the GCP budget (the gcp provider is given).")

    @property
    def clouds(self) -> tuple[str, ...]:
        """The clouds that get a budget, in the order the split is checked against."""
        return ("aws",) + (("azure",) if self.azure else ()) + (("gcp",) if self.gcp else ())


class Budgets(pulumi.ComponentResource):
    """Cost budgets on AWS and, where enabled, Azure and GCP."""

    def __init__(self, name: str, args: BudgetsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:budgets:Budgets", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        budget_name = f"platform-{args.environment}-monthly"
        self.names: dict[str, str] = {}
        self.limits_usd = args.settings.shares_usd(args.clouds)
        missing = [cloud for cloud in args.clouds if cloud not in self.limits_usd]
        if missing:  # the config check reports this with its key; a direct caller gets this
            raise ValueError(f"budgets.split: no share for {missing} (the split must cover {list(args.clouds)})")

        self.aws = self._aws(name, budget_name, args.settings)
        self.azure = self._azure(name, budget_name, args) if args.azure else None
        self.gcp = self._gcp(name, budget_name, args.settings) if args.gcp else None

        self.monthly_limit_usd = args.settings.monthly_limit_usd
        self.register_outputs({"names": self.names})

    def _aws(self, name: str, budget_name: str, settings: BudgetSettings) -> Any:
        """The account's monthly COST budget: AWS is always part of the stack."""
        import pulumi_aws as aws

        budget = aws.budgets.Budget(
            f"{name}-aws",
            name=budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{self.limits_usd['aws']:.2f}",
            limit_unit="USD",
            notifications=[aws.budgets.BudgetNotificationArgs(**n) for n in aws_notifications(settings)],
            opts=self._child,
        )
        self.names["aws"] = budget_name
        return budget

    def _azure(self, name: str, budget_name: str, args: BudgetsArgs) -> Any:
        """A consumption budget on the subscription (the provider's own unless one is named)."""
        import pulumi_azure_native as azure_native

        settings = args.settings
        subscription: pulumi.Input[str]
        if args.azure_subscription_id:
            subscription = args.azure_subscription_id
        else:
            subscription = azure_native.authorization.get_client_config_output(
                opts=pulumi.InvokeOutputOptions(parent=self)
            ).subscription_id
        budget = azure_native.consumption.Budget(
            f"{name}-azure",
            budget_name=budget_name,
            scope=pulumi.Output.from_input(subscription).apply(lambda s: f"/subscriptions/{s}"),
            amount=self.limits_usd["azure"],
            category="Cost",
            time_grain="Monthly",
            time_period=azure_native.consumption.BudgetTimePeriodArgs(
                start_date=f"{settings.azure_start_date.isoformat()}T00:00:00Z"
            ),
            notifications={
                key: azure_native.consumption.NotificationArgs(**value)
                for key, value in azure_notifications(settings).items()
            },
            opts=self._child,
        )
        self.names["azure"] = budget_name
        return budget

    def _gcp(self, name: str, budget_name: str, settings: BudgetSettings) -> Any:
        """A billing-account budget (optionally one project's spend) mailing through monitoring channels."""
        import pulumi_gcp as gcp

        if not settings.gcp_billing_account:
            raise ValueError("budgets.gcp_billing_account: required when cloud.gcp.enabled")
        channels = self._gcp_email_channels(name, budget_name, settings)
        budget_filter: dict[str, Any] = {"calendar_period": "MONTH"}
        if settings.gcp_project_number:
            budget_filter["projects"] = [f"projects/{settings.gcp_project_number}"]
        budget = gcp.billing.Budget(
            f"{name}-gcp",
            billing_account=settings.gcp_billing_account,
            display_name=budget_name,
            amount=gcp.billing.BudgetAmountArgs(
                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(**gcp_amount(self.limits_usd["gcp"]))
            ),
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(**budget_filter),
            threshold_rules=[gcp.billing.BudgetThresholdRuleArgs(**r) for r in gcp_threshold_rules(settings)],
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                monitoring_notification_channels=[c.id for c in channels],
                disable_default_iam_recipients=False,
            ),
            opts=self._child,
        )
        self.names["gcp"] = budget_name
        return budget

    def _gcp_email_channels(self, name: str, budget_name: str, settings: BudgetSettings) -> list[Any]:
        """GCP budgets mail only through Cloud Monitoring channels: one email channel per address."""
        import pulumi_gcp as gcp

        return [
            gcp.monitoring.NotificationChannel(
                f"{name}-gcp-email-{i}",
                type="email",
                display_name=f"Budget {budget_name}: {email}",
                labels={"email_address": email},
                opts=self._child,
            )
            for i, email in enumerate(settings.emails)
        ]

    def outputs(self) -> dict[str, Any]:
        """The ``budgets`` section of the outputs contract."""
        return {"monthly_limit_usd": self.monthly_limit_usd, "budgets": dict(self.names)}
