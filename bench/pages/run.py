"""Page benchmark: build a 10-million-event company, then time the team page and overview."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.allocation.selectors import costs_report
from apps.org.models import Team
from apps.rollups.models import DailyRollup
from apps.showback.templatetags.money import usd
from attribution_site.periods import MonthPeriod

from ..checks import require, require_equal
from ..config import Config
from ..cpu import CpuMeter, CpuUse
from ..server import process_cpu_seconds
from . import company
from .load import events_load
from .measure import PageTiming, page_context, page_time
from .profile import PageProfile, page_profile, profile_print
from .refresh import RefreshFigures, days_refresh

# Targets of the pages.
TEAM_P95_MS = 150
OVERVIEW_P95_MS = 300


@dataclass
class PagesFigures:
    events: int
    days: int
    teams: int
    products: int
    customers: int
    warmup: int
    load_seconds: float = 0.0
    refresh: RefreshFigures = field(default_factory=RefreshFigures)
    rollup_rows: int = 0
    allocation_rows: int = 0
    team: str = ""
    team_share: Decimal = Decimal(0)
    team_rollup_rows: int = 0  # the measured team's rows in the month shown
    month_rollup_rows: int = 0  # every team's rows in the month shown
    pages: dict[str, PageTiming] = field(default_factory=dict)
    profiles: dict[str, PageProfile] = field(default_factory=dict)
    cpu: CpuUse | None = None

    @property
    def refresh_seconds(self) -> list[float]:
        return self.refresh.seconds

    @property
    def build_seconds(self) -> float:
        return self.load_seconds + sum(self.refresh_seconds)

    @property
    def other_cores(self) -> float:
        return self.cpu.other / self.cpu.wall

    @property
    def team_ok(self) -> bool:
        return self.pages["team"].percentile_ms(95) <= TEAM_P95_MS

    @property
    def overview_ok(self) -> bool:
        return self.pages["overview"].percentile_ms(95) <= OVERVIEW_P95_MS


def pages_run(config: Config) -> PagesFigures:
    figures = PagesFigures(
        events=config.pages_events,
        days=config.pages_days,
        teams=config.pages_teams,
        products=config.pages_products,
        customers=config.pages_customers,
        warmup=config.pages_warmup,
    )
    today = timezone.now().date()
    _company_build(config, figures, first_day=today - timedelta(days=config.pages_days - 1))
    period = MonthPeriod.parse(None, today=today)
    team, figures.team_share = _largest_team(period)
    figures.team = team.slug
    month = DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end)
    figures.month_rollup_rows = month.count()
    figures.team_rollup_rows = month.filter(team=team).count()
    company.budget_create(team=team, month_start=period.start, amount=_budget_amount(team, period))
    print(
        f"  measured team: {team.slug} ({figures.team_share:.1%} of this month's spend, "
        f"{figures.team_rollup_rows:,} of the month's {figures.month_rollup_rows:,} rollup rows)",
        flush=True,
    )
    client = Client()
    client.force_login(company.staff_user())
    paths = {"team": f"/teams/{team.slug}/", "overview": "/overview/"}
    _require_team_headline(client, paths["team"], team, period)
    _require_overview_reconciles(client, paths["overview"])
    print("  checked: HTTP 200, the team headline equals costs_report and the tables, the overview reconciles")
    _pages_time(config, figures, client, paths)
    print("  profile (one page at a time; the chart functions and render wrapped, every query timed):", flush=True)
    for name, path in paths.items():
        figures.profiles[name] = page_profile(client, name, path)
        profile_print(figures.profiles[name])
    return figures


def _company_build(config: Config, figures: PagesFigures, *, first_day: date) -> None:
    """Registry, rules and events, then rollups and allocations through `day_refresh`, day by day."""
    products = company.registry_create(config)
    percent_off = company.discount_create(first_day)
    company.rules_create(first_day)
    team_slugs = dict(Team.objects.values_list("id", "slug"))
    print(
        f"  {len(team_slugs)} teams, {len(products)} products, {config.pages_customers:,} customers; "
        f"loading {config.pages_events:,} events over {config.pages_days} days …",
        flush=True,
    )
    figures.load_seconds = events_load(config, products, team_slugs, billed_pct={"anthropic": int(100 - percent_off)})
    print(
        f"    {figures.load_seconds:.1f} s (INSERT … SELECT generate_series on 2 connections, indexes rebuilt, ANALYZE)"
    )
    print(f"  day_refresh for each of the {config.pages_days} days (rollups, then allocations) …", flush=True)
    figures.refresh = days_refresh(config, first_day=first_day, days=config.pages_days)
    with connection.cursor() as cursor:
        # What autovacuum would do after the rebuilds (it is off on some machines): the pages'
        # plans depend on the statistics, and index-only scans on the visibility map.
        for table in ("rollups_dailyrollup", "rollups_dailybreakdown", "allocation_allocationresult"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        # The build leaves gigabytes of dirty buffers; flushed now, their checkpoint does not
        # land in the middle of the timed requests.
        cursor.execute("CHECKPOINT")
    figures.rollup_rows = DailyRollup.objects.count()
    figures.allocation_rows = AllocationResult.objects.count()
    print(
        f"    {sum(figures.refresh_seconds):.1f} s ({statistics.median(figures.refresh_seconds):.2f} s a day, "
        f"slowest {max(figures.refresh_seconds):.2f} s): {figures.rollup_rows:,} rollup rows, "
        f"{figures.allocation_rows:,} allocation results",
        flush=True,
    )
    print(f"    statements: {figures.refresh.describe()}", flush=True)
    start = time.perf_counter()
    _require_rollups_match_events()
    print(f"    rollups hold every event and nano-dollar ({time.perf_counter() - start:.0f} s to check)", flush=True)


def _pages_time(config: Config, figures: PagesFigures, client: Client, paths: dict[str, str]) -> None:
    with CpuMeter(config.database, lambda: process_cpu_seconds(os.getpid()), parallel_workers=True) as meter:
        for name, path in paths.items():
            timing = page_time(
                client,
                name,
                path,
                warmup=config.pages_warmup,
                repeat=config.pages_requests,
                budget_s=config.pages_seconds,
            )
            figures.pages[name] = timing
            print(
                f"  {name} {path}: p50 {timing.percentile_ms(50):.0f} ms, p95 {timing.percentile_ms(95):.0f} ms "
                f"over {len(timing.seconds)} requests; {timing.queries} queries; {timing.html_bytes / 1024:.0f} KiB",
                flush=True,
            )
    figures.cpu = meter.use
    print(f"  CPU while timing: {meter.use.describe(own='bench')}", flush=True)


def _largest_team(period: MonthPeriod) -> tuple[Team, Decimal]:
    """The team (not a shared one) with the most spend this month, and its share of the month."""
    report = costs_report(start=period.start, end=period.end, group_by=["team"], filters={}, team_ids=None)
    shared = set(Team.objects.filter(is_shared=True).values_list("slug", flat=True))
    top = next(r for r in report.rows if r.key["team"] and r.key["team"] not in shared)
    return Team.objects.get(slug=top.key["team"]), top.total / report.total.total


def _budget_amount(team: Team, period: MonthPeriod) -> Decimal:
    """Last month's spend plus 5%, in whole hundreds: a budget the team is close to."""
    previous = period.previous()
    spent = costs_report(
        start=previous.start, end=previous.end, group_by=[], filters={}, team_ids=[team.id]
    ).total.total
    return max(Decimal(100), (spent * Decimal("1.05") / 100).quantize(Decimal(1)) * 100)


def _require_rollups_match_events() -> None:
    """The rollups hold every event: count, requests and money agree with the raw table, exactly."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), SUM(list_cost), SUM(billed_cost), SUM(cache_savings) FROM usage_usageevent")
        raw = tuple(int(v) for v in cursor.fetchone())
        cursor.execute(
            "SELECT SUM(requests), SUM(list_cost), SUM(billed_cost), SUM(cache_savings) FROM rollups_dailyrollup"
        )
        rolled = tuple(int(v) for v in cursor.fetchone())
    require_equal(rolled, raw, "rollup sums vs raw events (requests, list cost, billed cost, cache savings)")


def _month_total_sql(team: Team, period: MonthPeriod) -> Decimal:
    """The team's month from the tables themselves: direct spend + allocated in − allocated out."""
    sources = [SharedCostRule.Source.SHARED_TEAM, SharedCostRule.Source.UNATTRIBUTED]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT COALESCE(SUM(billed_cost), 0) FROM rollups_dailyrollup
                    WHERE team_id = %(team)s AND day BETWEEN %(start)s AND %(end)s)
                 + (SELECT COALESCE(SUM(amount), 0) FROM allocation_allocationresult
                    WHERE team_id = %(team)s AND day BETWEEN %(start)s AND %(end)s)
                 - (SELECT COALESCE(SUM(r.amount), 0) FROM allocation_allocationresult r
                    JOIN allocation_sharedcostrule s ON s.id = r.rule_id
                    WHERE r.source_team_id = %(team)s AND s.source = ANY(%(sources)s)
                      AND r.day BETWEEN %(start)s AND %(end)s)
            """,
            {"team": team.id, "start": period.start, "end": period.end, "sources": [str(s) for s in sources]},
        )
        nanos = int(cursor.fetchone()[0])
    return Decimal(nanos).scaleb(-9).quantize(Decimal("0.000000001"))


def _require_team_headline(client: Client, path: str, team: Team, period: MonthPeriod) -> None:
    response = page_context(client, path)
    shown = response.context["page"].headline.spend.total
    report = costs_report(start=period.start, end=period.end, group_by=[], filters={}, team_ids=[team.id])
    require_equal(shown, report.total.total, f"{path} headline total vs costs_report for {team.slug}, {period.key}")
    require_equal(shown, _month_total_sql(team, period), f"{path} headline total vs the tables summed in SQL")
    cents = shown.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    require_equal(response.context["shown"].headline.total, cents, f"{path} headline total as printed")
    text = usd(cents)
    require(f'data-testid="total">{text}<' in response.content.decode(), f"{path} does not show the total {text}")
    require(shown > 0, f"{path}: the measured team spent nothing this month")


def _require_overview_reconciles(client: Client, path: str) -> None:
    response = page_context(client, path)
    reconciliation = response.context["reconciliation"]
    require(
        reconciliation.balances,
        f"{path}: teams {reconciliation.teams_total} + unallocated {reconciliation.unallocated} ≠ "
        f"spend {reconciliation.total_spend}",
    )
    shared = {r.slug: r.total for r in response.context["ranks"] if r.is_shared}
    require(shared and not any(shared.values()), f"{path}: shared teams' spend not fully allocated out: {shared}")
