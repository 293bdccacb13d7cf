"""Reading the Anthropic and OpenAI admin cost and usage reports over HTTP (httpx), page by page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
from django.conf import settings

ANTHROPIC_VERSION = "2023-06-01"
CENTS = Decimal(100)


class ProviderPullError(Exception):
    """The provider did not answer with a report after the retries (`status`: its HTTP refusal, if any)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CostRow:
    day: date
    scope: str
    description: str
    model: str
    amount: Decimal
    is_partial: bool
    list_amount: Decimal | None = None  # before discounts, where the report gives it
    api_key_id: str = ""
    service_tier: str = ""
    person: str = ""  # the user or service account the analytics API attributes the cost to
    person_name: str = ""  # the user's full name, as the analytics API gives it


@dataclass(frozen=True)
class UsageRow:
    day: date
    scope: str
    api_key_id: str
    model: str
    service_tier: str
    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int


@dataclass
class Report:
    costs: list[CostRow] = field(default_factory=list)
    usage: list[UsageRow] = field(default_factory=list)
    pages: dict[str, list] = field(default_factory=dict)


def _get(client: httpx.Client, path: str, params: list[tuple[str, str]]) -> httpx.Response:
    """GET with retries and exponential backoff on rate limits, server errors and timeouts.

    A 429's Retry-After is honoured.
    """
    attempts = settings.BILLING_PULL_ATTEMPTS
    delay = settings.BILLING_PULL_BACKOFF_SECONDS
    for attempt in range(1, attempts + 1):
        try:
            response = client.get(path, params=params)
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            wait = delay * 2 ** (attempt - 1)
        else:
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code} from {path}: {response.text[:200]}"
                retry_after = response.headers.get("retry-after", "")
                wait = float(retry_after) if retry_after.isdigit() else delay * 2 ** (attempt - 1)
            elif response.status_code >= 400:
                raise ProviderPullError(
                    f"HTTP {response.status_code} from {path}: {response.text[:500]}", status=response.status_code
                )
            else:
                return response
        if attempt < attempts:
            time.sleep(min(wait, settings.BILLING_PULL_MAX_WAIT_SECONDS))
    raise ProviderPullError(f"Gave up after {attempts} attempts: {problem}")


def _paged(client: httpx.Client, path: str, params: list[tuple[str, str]], raw: list) -> Iterator[dict]:
    """Every bucket of every page, following `next_page` while `has_more`.

    Amounts are parsed as Decimal: OpenAI's are JSON numbers, and a float would lose the exact
    figure the bill is reconciled against.
    """
    page = None
    while True:
        response = _get(client, path, params + ([("page", page)] if page else []))
        try:
            body = json.loads(response.content, parse_float=Decimal)
            raw.append(json.loads(response.content))  # as sent, for audit
        except ValueError as exc:
            raise ProviderPullError(f"{path} answered with something other than JSON: {response.text[:200]}") from exc
        yield from body.get("data", [])
        page = body.get("next_page")
        if not body.get("has_more") or not page:
            return


def _client(*, base_url: str, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=headers, timeout=settings.BILLING_PULL_TIMEOUT_SECONDS)


def _is_partial(bucket_end: datetime) -> bool:
    return bucket_end > datetime.now(tz=UTC)


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def anthropic_pull(*, base_url: str, api_key: str, start: date, end: date) -> Report:
    """Days `start` to `end` (exclusive) of the cost report (by workspace and description) and
    the messages usage report (by workspace, API key and model)."""
    report = Report(pages={"cost_report": [], "usage_report/messages": []})
    headers = {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
    window = [("starting_at", _rfc3339(start)), ("ending_at", _rfc3339(end)), ("bucket_width", "1d")]
    with _client(base_url=base_url, headers=headers) as client:
        costs = [*window, ("group_by[]", "workspace_id"), ("group_by[]", "description"), ("limit", "31")]
        for bucket in _paged(client, "/v1/organizations/cost_report", costs, report.pages["cost_report"]):
            day = datetime.fromisoformat(bucket["starting_at"]).date()
            partial = _is_partial(datetime.fromisoformat(bucket["ending_at"]))
            for r in bucket.get("results", []):
                report.costs.append(
                    CostRow(
                        day=day,
                        scope=r.get("workspace_id") or "",
                        description=r.get("description") or "",
                        model=r.get("model") or "",
                        amount=Decimal(r["amount"]) / CENTS,  # a decimal string in cents
                        is_partial=partial,
                    )
                )
        usage = [*window, ("group_by[]", "workspace_id"), ("group_by[]", "api_key_id"), ("group_by[]", "model")]
        usage += [("limit", "31")]
        raw = report.pages["usage_report/messages"]
        for bucket in _paged(client, "/v1/organizations/usage_report/messages", usage, raw):
            day = datetime.fromisoformat(bucket["starting_at"]).date()
            for r in bucket.get("results", []):
                creation = r.get("cache_creation") or {}
                write_5m = int(creation.get("ephemeral_5m_input_tokens") or 0)
                write_1h = int(creation.get("ephemeral_1h_input_tokens") or 0)
                read = int(r.get("cache_read_input_tokens") or 0)
                report.usage.append(
                    UsageRow(
                        day=day,
                        scope=r.get("workspace_id") or "",
                        api_key_id=r.get("api_key_id") or "",
                        model=r.get("model") or "",
                        service_tier=r.get("service_tier") or "standard",
                        requests=0,
                        # Anthropic counts uncached input apart; the canonical count includes the cache.
                        input_tokens=int(r.get("uncached_input_tokens") or 0) + read + write_5m + write_1h,
                        output_tokens=int(r.get("output_tokens") or 0),
                        cache_read_tokens=read,
                        cache_write_tokens=write_5m + write_1h,
                        cache_write_1h_tokens=write_1h,
                    )
                )
    return report


def _unix(day: date) -> str:
    return str(int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()))


def openai_pull(*, base_url: str, api_key: str, start: date, end: date) -> Report:
    """Days `start` to `end` (exclusive) of the costs (by project and line item) and the
    completions usage (by project, API key, model and batch)."""
    report = Report(pages={"costs": [], "usage/completions": []})
    headers = {"Authorization": f"Bearer {api_key}"}
    window = [("start_time", _unix(start)), ("end_time", _unix(end)), ("bucket_width", "1d")]
    with _client(base_url=base_url, headers=headers) as client:
        costs = [*window, ("group_by", "project_id"), ("group_by", "line_item"), ("limit", "180")]
        for bucket in _paged(client, "/v1/organization/costs", costs, report.pages["costs"]):
            day = datetime.fromtimestamp(int(bucket["start_time"]), tz=UTC).date()
            partial = _is_partial(datetime.fromtimestamp(int(bucket["end_time"]), tz=UTC))
            for r in bucket.get("results", []):
                amount = r.get("amount") or {}
                line_item = r.get("line_item") or ""
                report.costs.append(
                    CostRow(
                        day=day,
                        scope=r.get("project_id") or "",
                        description=line_item,
                        model=line_item.split(",")[0].strip(),  # "gpt-4o-2024-08-06, input"
                        amount=Decimal(str(amount.get("value", 0))),  # USD
                        is_partial=partial,
                    )
                )
        usage = window + [("group_by", g) for g in ("project_id", "api_key_id", "model", "batch")]
        usage += [("limit", "31")]
        for bucket in _paged(client, "/v1/organization/usage/completions", usage, report.pages["usage/completions"]):
            day = datetime.fromtimestamp(int(bucket["start_time"]), tz=UTC).date()
            for r in bucket.get("results", []):
                report.usage.append(
                    UsageRow(
                        day=day,
                        scope=r.get("project_id") or "",
                        api_key_id=r.get("api_key_id") or "",
                        model=r.get("model") or "",
                        service_tier="batch" if r.get("batch") else "standard",
                        requests=int(r.get("num_model_requests") or 0),
                        input_tokens=int(r.get("input_tokens") or 0),  # cached included, as OpenAI counts
                        output_tokens=int(r.get("output_tokens") or 0),
                        cache_read_tokens=int(r.get("input_cached_tokens") or 0),
                        cache_write_tokens=0,
                        cache_write_1h_tokens=0,
                    )
                )
    return report


PULLS = {"anthropic": anthropic_pull, "openai": openai_pull}

# Anthropic's Usage and Cost Analytics API (beta): every request names the beta.
ANALYTICS_BETA = "analytics-usage-cost-2026-08-24"
ANALYTICS_MAX_DAYS = 31  # the longest range one request may span
# Its service tiers as events name them; the on-demand and discounted variants are the same tier's spend.
_TIERS = {"priority_on_demand": "priority", "flex_discount": "flex"}
_ANALYTICS_GROUPS = ("workspace_id", "api_key_id", "model", "service_tier", "actor")


def _analytics_tier(value: str | None) -> str:
    return _TIERS.get(value or "", value or "standard")


def _actor_name(actor: dict | None) -> str:
    """A user actor's full name; none for a deleted account ("Deleted User") or other actors."""
    if not actor or actor.get("type") != "user_actor" or actor.get("deleted"):
        return ""
    return actor.get("name") or ""


def _actor_person(actor: dict | None) -> str:
    """The person an analytics row's actor names: a user's email (else their id) or a service
    account's id; an API key or a federated identity is no person."""
    if not actor:
        return ""
    if actor.get("type") == "user_actor":
        return actor.get("email_address") or actor.get("user_id") or ""
    if actor.get("type") == "service_account_actor":
        return actor.get("service_account_id") or ""
    return ""


def _windows(start: date, end: date) -> Iterator[tuple[date, date]]:
    """`start`..`end` (exclusive) in ranges of at most ANALYTICS_MAX_DAYS days."""
    while start < end:
        until = min(start + timedelta(days=ANALYTICS_MAX_DAYS), end)
        yield start, until
        start = until


def anthropic_analytics_pull(*, base_url: str, api_key: str, start: date, end: date) -> Report:
    """Days `start` to `end` (exclusive) of the Usage and Cost Analytics API: cost by workspace, API
    key, model, service tier and actor, split by cost and token type (`amount` after discount and
    `list_amount` before, both in fractional cents), and token usage by the same groups. Field
    names follow the `anthropic` SDK's BetaAnalyticsCostItem and BetaAnalyticsUsageItem."""
    report = Report(pages={"analytics/cost": [], "analytics/usage": []})
    headers = {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION, "anthropic-beta": ANALYTICS_BETA}
    groups = [("group_by[]", g) for g in _ANALYTICS_GROUPS]
    with _client(base_url=base_url, headers=headers) as client:
        for since, until in _windows(start, end):
            window = [("starting_at", _rfc3339(since)), ("ending_at", _rfc3339(until)), ("time_bucket_width", "1d")]
            costs = [*window, *groups, ("group_by[]", "cost_type"), ("group_by[]", "token_type"), ("limit", "1000")]
            for item in _paged(client, "/v1/organizations/analytics/cost", costs, report.pages["analytics/cost"]):
                group, cost = item.get("group") or {}, item["cost"]
                model = group.get("model") or ""
                kind = "/".join(k for k in (group.get("cost_type"), group.get("token_type")) if k)
                report.costs.append(
                    CostRow(
                        day=datetime.fromisoformat(item["starting_at"]).date(),
                        scope=group.get("workspace_id") or "",
                        description=f"{model or 'no model'} {kind}".strip(),
                        model=model,
                        amount=Decimal(cost["amount"]) / CENTS,  # fractional cents
                        list_amount=Decimal(cost["list_amount"]) / CENTS,
                        is_partial=_is_partial(datetime.fromisoformat(item["ending_at"])),
                        api_key_id=group.get("api_key_id") or "",
                        service_tier=_analytics_tier(group.get("service_tier")),
                        person=_actor_person(group.get("actor")),
                        person_name=_actor_name(group.get("actor")),
                    )
                )
            usage = [*window, *groups, ("limit", "1000")]
            for item in _paged(client, "/v1/organizations/analytics/usage", usage, report.pages["analytics/usage"]):
                group, tokens = item.get("group") or {}, item["usage"]
                creation = tokens.get("cache_creation") or {}
                write_5m = int(creation.get("ephemeral_5m_input_tokens") or 0)
                write_1h = int(creation.get("ephemeral_1h_input_tokens") or 0)
                read = int(tokens.get("cache_read_input_tokens") or 0)
                report.usage.append(
                    UsageRow(
                        day=datetime.fromisoformat(item["starting_at"]).date(),
                        scope=group.get("workspace_id") or "",
                        api_key_id=group.get("api_key_id") or "",
                        model=group.get("model") or "",
                        service_tier=_analytics_tier(group.get("service_tier")),
                        requests=int(tokens.get("requests") or 0),
                        input_tokens=int(tokens.get("uncached_input_tokens") or 0) + read + write_5m + write_1h,
                        output_tokens=int(tokens.get("output_tokens") or 0),
                        cache_read_tokens=read,
                        cache_write_tokens=write_5m + write_1h,
                        cache_write_1h_tokens=write_1h,
                    )
                )
    return report


def day_after(day: date) -> date:
    return day + timedelta(days=1)
