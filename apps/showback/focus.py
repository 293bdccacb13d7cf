"""FOCUS 1.2 export of a month: one row per day × team × product × tags × provider × model, plus allocations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Sum

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.billing.models import NOT_BILLED, PROVIDER_ONLY
from apps.rollups.models import DailyRollup

from .exports import text_cell

COLUMNS = (
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "InvoiceIssuerName",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceSubcategory",
    "ServiceName",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "SkuId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_ReportedBy",
    "x_AllocationRule",
    "x_AllocationMethod",
    "x_AllocationSourceTeam",
    "x_AllocationBasis",
    "x_AllocationBasisTotal",
    "x_AllocationShare",
)
# Amounts and quantities: a leading "-" is a sign here, never a formula. Every other cell may hold a
# client's text (a model, a feature in Tags, a team's name) and is neutralised like the other CSVs.
NUMERIC = frozenset(
    {
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "PricingQuantity",
        "ConsumedQuantity",
        "x_AllocationBasis",
        "x_AllocationBasisTotal",
        "x_AllocationShare",
    }
)
# Provider as events name it → (the company that bills it, the service's name).
PROVIDERS = {
    "anthropic": ("Anthropic", "Claude API"),
    "openai": ("OpenAI", "OpenAI API"),
    "aws.bedrock": ("AWS", "Amazon Bedrock"),
    "gcp.vertex_ai": ("Google Cloud", "Vertex AI"),
    "azure.ai.openai": ("Microsoft", "Azure OpenAI"),
}
_GRAIN = ("day", "team__slug", "team__name", "product__slug", "feature", "environment__slug", "provider", "model")


def _instant(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _money(amount: Decimal) -> str:
    return f"{amount:f}"


def _month_end(month_start: date) -> date:
    return (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _base(month_start: date, day: date) -> dict:
    return {
        "BillingAccountId": settings.FOCUS_BILLING_ACCOUNT_ID,
        "BillingAccountName": settings.FOCUS_BILLING_ACCOUNT_NAME,
        "BillingCurrency": "USD",
        "BillingPeriodStart": _instant(month_start),
        "BillingPeriodEnd": _instant(_month_end(month_start)),  # exclusive
        "ChargePeriodStart": _instant(day),
        "ChargePeriodEnd": _instant(day + timedelta(days=1)),  # exclusive
        "ChargeClass": "",
        "ChargeFrequency": "Usage-Based",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceSubcategory": "Generative AI",
    }


# x_ReportedBy of reconciliation's rows: the bill's remainder, and the negative over-recording.
_REPORTED_BY = {PROVIDER_ONLY: "provider only", NOT_BILLED: "events, not billed"}


def _usage_rows(month_start: date) -> Iterator[list]:
    rows = (
        DailyRollup.objects.filter(day__gte=month_start, day__lt=_month_end(month_start))
        .values(*_GRAIN)
        .annotate(
            billed=Sum("billed_cost"),
            listed=Sum("list_cost"),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
        )
        .order_by(*_GRAIN)
    )
    for r in rows.iterator(chunk_size=2000):
        issuer, service = PROVIDERS.get(r["provider"], (r["provider"], r["provider"]))
        # Reconciliation's rows (no events behind them): spend only the bill has, or events' beyond it.
        provider_only = r["model"] in (PROVIDER_ONLY, NOT_BILLED)
        tags = {
            "team": r["team__slug"] or "",
            "product": r["product__slug"] or "",
            "feature": r["feature"],
            "environment": r["environment__slug"] or "",
        }
        yield {
            **_base(month_start, r["day"]),
            "ChargeCategory": "Usage",
            "ChargeDescription": f"{r['model']} on {service}",
            "BilledCost": _money(r["billed"]),
            "EffectiveCost": _money(r["billed"]),
            "ListCost": _money(r["listed"]),
            "ContractedCost": _money(r["billed"]),
            "InvoiceIssuerName": issuer,
            "ProviderName": issuer,
            "PublisherName": issuer,
            "ServiceName": service,
            "PricingCategory": "Standard",
            # The provider's bill gives an amount, not tokens, for spend no event recorded.
            "PricingQuantity": "" if provider_only else r["tokens"],
            "PricingUnit": "" if provider_only else "Tokens",
            "ConsumedQuantity": "" if provider_only else r["tokens"],
            "ConsumedUnit": "" if provider_only else "Tokens",
            "SkuId": f"{r['provider']}/{r['model']}",
            "SubAccountId": r["team__slug"] or "",
            "SubAccountName": r["team__name"] or "",
            "Tags": json.dumps(tags, sort_keys=True),
            "x_ReportedBy": _REPORTED_BY.get(r["model"], "events"),
        }


def _allocation_row(month_start: date, a: AllocationResult, *, team, amount: Decimal, label: str) -> dict:
    return {
        **_base(month_start, a.day),
        "ChargeCategory": "Adjustment",
        "ChargeDescription": f"{label} by rule '{a.rule.name}'",
        "BilledCost": _money(amount),
        "EffectiveCost": _money(amount),
        "ListCost": _money(amount),
        "ContractedCost": _money(amount),
        "InvoiceIssuerName": settings.FOCUS_BILLING_ACCOUNT_NAME,
        "ProviderName": settings.FOCUS_BILLING_ACCOUNT_NAME,
        "PublisherName": settings.FOCUS_BILLING_ACCOUNT_NAME,
        "ServiceName": "Shared-cost allocation",
        "PricingCategory": "",
        "PricingQuantity": "",
        "PricingUnit": "",
        "ConsumedQuantity": "",
        "ConsumedUnit": "",
        "SkuId": f"allocation/{a.rule_id}",
        "SubAccountId": team.slug if team else "",
        "SubAccountName": team.name if team else "",
        "Tags": json.dumps({"team": team.slug if team else "", "product": "", "feature": "", "environment": ""}),
        "x_ReportedBy": "allocation",
        "x_AllocationRule": a.rule.name,
        "x_AllocationMethod": a.method,
        "x_AllocationSourceTeam": a.source_team.slug if a.source_team else "",
        "x_AllocationBasis": _money(a.basis),
        "x_AllocationBasisTotal": _money(a.basis_total),
        "x_AllocationShare": _money(a.share),
    }


MOVES = {SharedCostRule.Source.SHARED_TEAM, SharedCostRule.Source.UNATTRIBUTED}


def _allocation_rows(month_start: date) -> Iterator[dict]:
    """A split of existing spend moves it: +amount to the target and -amount from the source, so
    the export adds up to the costs API (whose totals subtract what a team shared out). A fixed
    amount is new spend: only the target's row."""
    results = (
        AllocationResult.objects.filter(day__gte=month_start, day__lt=_month_end(month_start))
        .select_related("rule", "team", "source_team")
        .order_by("day", "rule_id", "team_id")
    )
    for a in results.iterator(chunk_size=2000):
        yield _allocation_row(month_start, a, team=a.team, amount=a.amount, label="Allocated in")
        if a.rule.source in MOVES:
            yield _allocation_row(month_start, a, team=a.source_team, amount=-a.amount, label="Allocated out")


def focus_rows(*, month_start: date) -> Iterator[list[str]]:
    """The header, then every row, read in chunks so a large month is never held in memory."""
    yield list(COLUMNS)
    for source in (_usage_rows(month_start), _allocation_rows(month_start)):
        for row in source:
            yield [row.get(c, "") if c in NUMERIC else text_cell(str(row.get(c, ""))) for c in COLUMNS]
