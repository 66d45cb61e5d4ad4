"""Cost budgets on the mock plan: AWS always, Azure and GCP where those clouds are enabled (prod), with
ACTUAL/FORECASTED notifications at the configured thresholds; bad input names the key."""

from __future__ import annotations

from typing import Any

import pytest

from components.budgets.component import gcp_amount
from components.platform.config import ConfigError, parse_config
from tests.plans import deep_merge, of_type, plan_of, plan_with, stack_values


def _one(plan: Any, token: str) -> dict[str, Any]:
    (record,) = of_type(plan, token)
    return record.inputs


def test_prod_aws_budget_is_monthly_cost_with_actual_and_forecast_notifications() -> None:
    budget = _one(plan_of("prod"), "aws:budgets/budget:Budget")
    assert (budget["budgetType"], budget["timeUnit"], budget["limitAmount"], budget["limitUnit"]) == (
        "COST",
        "MONTHLY",
        "1000.00",
        "USD",
    )
    kinds = [(n["notificationType"], n["threshold"], n["thresholdType"]) for n in budget["notifications"]]
    assert kinds == [
        ("ACTUAL", 50, "PERCENTAGE"),
        ("ACTUAL", 80, "PERCENTAGE"),
        ("ACTUAL", 100, "PERCENTAGE"),
        ("FORECASTED", 100, "PERCENTAGE"),
    ]
    for n in budget["notifications"]:
        assert n["comparisonOperator"] == "GREATER_THAN"
        assert n["subscriberEmailAddresses"] == ["finops@example.com", "platform-team@example.com"]


def test_prod_azure_and_gcp_budgets_mirror_the_thresholds() -> None:
    plan = plan_of("prod")
    azure = _one(plan, "azure-native:consumption:Budget")
    assert azure["scope"].startswith("/subscriptions/") and azure["timeGrain"] == "Monthly"
    assert azure["category"] == "Cost" and azure["amount"] == 1000
    assert azure["timePeriod"]["startDate"].endswith("-01T00:00:00Z")
    assert sorted((n["thresholdType"], n["threshold"]) for n in azure["notifications"].values()) == [
        ("Actual", 50),
        ("Actual", 80),
        ("Actual", 100),
        ("Forecasted", 100),
    ]
    gcp = _one(plan, "gcp:billing/budget:Budget")
    assert gcp["billingAccount"] == "01A2B3-C4D5E6-F7A8B9"
    assert gcp["amount"]["specifiedAmount"] == {"currencyCode": "USD", "units": "1000", "nanos": 0}
    assert [(r["spendBasis"], r["thresholdPercent"]) for r in gcp["thresholdRules"]] == [
        ("CURRENT_SPEND", 0.5),
        ("CURRENT_SPEND", 0.8),
        ("CURRENT_SPEND", 1),
        ("FORECASTED_SPEND", 1),
    ]
    channels = of_type(plan, "gcp:monitoring/notificationChannel:NotificationChannel")
    assert sorted(c.inputs["labels"]["email_address"] for c in channels) == [
        "finops@example.com",
        "platform-team@example.com",
    ]
    assert plan.outputs["budgets"]["budgets"] == {
        "aws": "platform-prod-monthly",
        "azure": "platform-prod-monthly",
        "gcp": "platform-prod-monthly",
    }


def test_staging_without_azure_and_gcp_has_only_the_aws_budget() -> None:
    plan = plan_of("staging")
    assert len(of_type(plan, "aws:budgets/budget:Budget")) == 1
    assert not of_type(plan, "azure-native:consumption:Budget") and not of_type(plan, "gcp:billing/budget:Budget")
    assert plan.outputs["budgets"] == {"monthly_limit_usd": 250, "budgets": {"aws": "platform-staging-monthly"}}


def test_explicit_subscription_and_project_scope() -> None:
    plan = plan_with(
        "prod",
        {
            "cloud": {"azure": {"subscription_id": "11111111-2222-3333-4444-555555555555"}},
            "budgets": {"gcp_project_number": "314159265358", "monthly_limit_usd": 1234.5},
        },
    )
    assert (
        _one(plan, "azure-native:consumption:Budget")["scope"] == "/subscriptions/11111111-2222-3333-4444-555555555555"
    )
    gcp = _one(plan, "gcp:billing/budget:Budget")
    assert gcp["budgetFilter"]["projects"] == ["projects/314159265358"]
    assert (
        gcp["amount"]["specifiedAmount"]["units"] == "1234" and gcp["amount"]["specifiedAmount"]["nanos"] == 500_000_000
    )


def test_gcp_amount_splits_units_and_nanos() -> None:
    assert gcp_amount(1000) == {"currency_code": "USD", "units": "1000", "nanos": 0}
    assert gcp_amount(99.99)["nanos"] == 990_000_000


def test_disabled_budgets_are_absent() -> None:
    plan = plan_with("staging", {"budgets": {"enabled": False}})
    assert not of_type(plan, "aws:budgets/budget:Budget") and "budgets" not in plan.outputs


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    (
        "gcp enabled without a billing account",
        {"budgets": {"gcp_billing_account": None}},
        "budgets.gcp_billing_account: required when cloud.gcp.enabled",
    ),
    (
        "malformed billing account",
        {"budgets": {"gcp_billing_account": "12345"}},
        "budgets.gcp_billing_account: '12345'",
    ),
    ("threshold outside range", {"budgets": {"thresholds_percent": [50, 2000]}}, "budgets.thresholds_percent: [2000]"),
    ("thresholds out of order", {"budgets": {"thresholds_percent": [80, 50]}}, "budgets.thresholds_percent: [80, 50]"),
    (
        "too many notifications",
        {"budgets": {"thresholds_percent": [10, 20, 30, 40, 50]}},
        "budgets.thresholds_percent: 6 notifications",
    ),
    ("bad email", {"budgets": {"emails": ["finops"]}}, "budgets.emails: ['finops'] are not email addresses"),
    ("zero limit", {"budgets": {"monthly_limit_usd": 0}}, "budgets.monthly_limit_usd: 0"),
    ("azure start mid-month", {"budgets": {"azure_start_date": "2025-01-15"}}, "budgets.azure_start_date: 2025-01-15"),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_budget_config_names_the_key(case: str, changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values("prod"), changes))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
