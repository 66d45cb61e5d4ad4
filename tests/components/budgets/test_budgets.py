"""Cost budgets on the mock plan: AWS always, Azure and GCP where those clouds are enabled (prod), each with its
share of the one monthly limit (``budgets.split``) and ACTUAL/FORECASTED notifications at the configured
thresholds; bad input (a split that does not add up or names a disabled cloud) names the key."""

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
        "700.00",
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
    assert azure["category"] == "Cost" and azure["amount"] == 150
    assert azure["timePeriod"]["startDate"].endswith("-01T00:00:00Z")
    assert sorted((n["thresholdType"], n["threshold"]) for n in azure["notifications"].values()) == [
        ("Actual", 50),
        ("Actual", 80),
        ("Actual", 100),
        ("Forecasted", 100),
    ]
    gcp = _one(plan, "gcp:billing/budget:Budget")
    assert gcp["billingAccount"] == "01A2B3-C4D5E6-F7A8B9"
    assert gcp["amount"]["specifiedAmount"] == {"currencyCode": "USD", "units": "150", "nanos": 0}
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
            "budgets": {
                "gcp_project_number": "314159265358",
                "monthly_limit_usd": 1234.5,
                "split": {"aws": 1000, "azure": 100, "gcp": 134.5},
            },
        },
    )
    assert (
        _one(plan, "azure-native:consumption:Budget")["scope"] == "/subscriptions/11111111-2222-3333-4444-555555555555"
    )
    gcp = _one(plan, "gcp:billing/budget:Budget")
    assert gcp["budgetFilter"]["projects"] == ["projects/314159265358"]
    assert (
        gcp["amount"]["specifiedAmount"]["units"] == "134" and gcp["amount"]["specifiedAmount"]["nanos"] == 500_000_000
    )


def _budget_total(plan: Any) -> float:
    aws = sum(float(b.inputs["limitAmount"]) for b in of_type(plan, "aws:budgets/budget:Budget"))
    azure = sum(b.inputs["amount"] for b in of_type(plan, "azure-native:consumption:Budget"))
    gcp = sum(
        int(b.inputs["amount"]["specifiedAmount"]["units"]) + b.inputs["amount"]["specifiedAmount"]["nanos"] / 1e9
        for b in of_type(plan, "gcp:billing/budget:Budget")
    )
    return aws + azure + gcp


def test_prod_budgets_add_up_to_the_one_monthly_limit() -> None:
    assert _budget_total(plan_of("prod")) == pytest.approx(1000)
    assert _budget_total(plan_of("staging")) == pytest.approx(250)


def test_percent_split_divides_the_limit() -> None:
    plan = plan_with("prod", {"budgets": {"split": {"aws": 80, "azure": 10, "gcp": 10}, "split_unit": "percent"}})
    assert _one(plan, "aws:budgets/budget:Budget")["limitAmount"] == "800.00"
    assert _one(plan, "azure-native:consumption:Budget")["amount"] == 100
    assert _budget_total(plan) == pytest.approx(1000)


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
    (
        "split does not add up",
        {"budgets": {"split": {"aws": 1000, "azure": 1000, "gcp": 1000}}},
        "budgets.split: {'aws': 1000.0, 'azure': 1000.0, 'gcp': 1000.0} adds up to 3000 USD, not monthly_limit_usd 1000",
    ),
    (
        "percent split does not add up",
        {"budgets": {"split": {"aws": 70, "azure": 20, "gcp": 20}, "split_unit": "percent"}},
        "budgets.split: {'aws': 70.0, 'azure': 20.0, 'gcp': 20.0} adds up to 110 percent, not 100",
    ),
    ("split without an enabled cloud", {"budgets": {"split": None}}, "budgets.split: required when cloud.azure"),
    ("unknown cloud in split", {"budgets": {"split": {"aws": 900, "oracle": 100}}}, "budgets.split.oracle"),
    ("zero share", {"budgets": {"split": {"aws": 1000, "azure": 0, "gcp": 0}}}, "budgets.split: {"),
]


def test_split_missing_an_enabled_cloud_names_the_key() -> None:
    values = stack_values("prod")
    values["budgets"] = {**values["budgets"], "split": {"aws": 850, "azure": 150}}
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    assert any(p.startswith("budgets.split.gcp: missing") for p in caught.value.problems), caught.value.problems


def test_split_naming_a_disabled_cloud_names_the_key() -> None:
    values = deep_merge(stack_values("staging"), {"budgets": {"split": {"aws": 200, "gcp": 50}}})
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    assert any(p.startswith("budgets.split.gcp: cloud.gcp.enabled is false") for p in caught.value.problems), (
        caught.value.problems
    )


@pytest.mark.parametrize(("case", "changes", "expected"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_budget_config_names_the_key(case: str, changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values("prod"), changes))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
