"""The demo company as data: teams, products, API keys, shared-cost rules and the workloads that call models."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# UTC hour weights: Europe's working day followed by the US East coast's, quiet at night.
BUSINESS_HOURS = (1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 11, 12, 13, 13, 12, 10, 8, 6, 4, 3, 2, 1)
AROUND_THE_CLOCK = (1,) * 24
NIGHTLY = (6, 8, 8, 6, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3)

ANTHROPIC, OPENAI = "anthropic", "openai"
SONNET = (ANTHROPIC, "claude-sonnet-4-5")
HAIKU = (ANTHROPIC, "claude-haiku-4-5")
OPUS = (ANTHROPIC, "claude-opus-4-1")
GPT_4O = (OPENAI, "gpt-4o")
GPT_4O_MINI = (OPENAI, "gpt-4o-mini")
EMBEDDING = (OPENAI, "text-embedding-3-small")
MODELS = (SONNET, HAIKU, OPUS, GPT_4O, GPT_4O_MINI, EMBEDDING)


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    business_unit: str
    is_shared: bool = False


@dataclass(frozen=True)
class KeySpec:
    name: str
    team: str  # the owner, who is asked about the key's unattributed spend
    pin_team: bool  # pin the owner as every event's team; unpinned keys send (or forget) their own
    environment: str  # default environment
    may_charge: tuple[str, ...] = ()  # other teams an unpinned key may charge (ApiKey.chargeable_teams)


@dataclass(frozen=True)
class Workload:
    """One service's calls: how many, when, to which models, with which tags.

    Volumes are weekday calls on the first day at scale 1; they grow by `growth` every 30 days.
    A workload with `last_hours` is a planted anomaly instead: `per_hour` calls in every hour of
    the last `last_hours` hours (at least one per hour whatever the scale), nights and weekends too,
    and its `steps` is the length of one looping task.
    """

    name: str  # unique within its key: part of every event id
    key: str
    feature: str
    models: tuple[tuple[tuple[str, str], float], ...]
    input_tokens: int  # median of all input, cached included
    output_tokens: int
    product: str = ""  # "" sends no product tag
    team: str = ""  # the team tag as sent; only keys without a pinned team honour it
    environment: str = ""  # "" leaves the key's default
    calls_per_day: float = 0
    weekend: float = 0.3
    hours: tuple[int, ...] = BUSINESS_HOURS
    growth: float = 0.2
    cached_prefix: int = 0  # prompt tokens read from cache on a hit, written to it on a miss
    cache_hit: float = 0.0
    agent: str = ""
    steps: tuple[int, int] = (1, 1)  # calls per task; the calls of a multi-step task share a trace id
    customers: bool = False
    customer: str = ""  # every call for this one customer
    service_tier: str = "standard"
    reasoning: float = 0.0  # share of output that is reasoning
    context_growth: int = 0  # input tokens added per step: an agent re-reading its own history
    per_hour: float = 0
    last_hours: int = 0
    escalates: bool = False  # the anomaly's hourly rate climbs over its window (a loop fanning out)
    # Planted savings (apps.insights): a share of calls with 25× the output or input, a higher
    # error rate, and input per call growing by this much every 30 days.
    output_tail: float = 0.0
    input_tail: float = 0.0
    error_rate: float = 0.006
    input_growth: float = 0.0
    switched_to: tuple[str, str] | None = None  # the model its calls moved to `switched_days` ago
    switched_days: int = 0
    people: tuple[str, ...] = ()  # a coding agent's developers: each task is one person's (event `person`)


TEAMS = (
    TeamSpec("platform", "Platform", "Engineering", is_shared=True),
    TeamSpec("search", "Search", "Core Product"),
    TeamSpec("support", "Support AI", "Customer Operations"),
    TeamSpec("growth", "Growth", "Go-to-Market"),
    TeamSpec("insights", "Insights", "Core Product"),
    TeamSpec("billing", "Billing", "Finance Systems"),
)

# slug, name, owning team
PRODUCTS = (
    ("retrieval", "Retrieval API", "platform"),
    ("doc-ingestion", "Document Ingestion", "platform"),
    ("semantic-search", "Semantic Search", "search"),
    ("answer-engine", "AI Answers", "search"),
    ("support-assistant", "Support Assistant", "support"),
    ("ticket-triage", "Ticket Triage", "support"),
    ("email-writer", "Email Writer", "growth"),
    ("lead-scoring", "Lead Scoring", "growth"),
    ("analytics-copilot", "Analytics Copilot", "insights"),
    ("research-assistant", "Research Assistant", "insights"),
    ("invoice-extraction", "Invoice Extraction", "billing"),
    ("collections-assistant", "Collections Assistant", "billing"),
)

KEYS = (
    KeySpec("platform-retrieval", "platform", True, "production"),
    KeySpec("search-api", "search", True, "production"),
    KeySpec("support-bot", "support", True, "production"),
    KeySpec("growth-services", "growth", True, "production"),
    KeySpec("insights-agents", "insights", True, "production"),
    KeySpec("billing-pipeline", "billing", True, "production"),
    # The gaps: an old shared batch key and the data scientists' notebooks send no team of their own.
    KeySpec("legacy-batch", "platform", False, "production", may_charge=("search",)),
    KeySpec("notebooks", "insights", False, "development"),
)

# Developers whose coding agents send calls (the `person` of their events) and have no demo login,
# mapped to their team by the admin mapping; the demo logins' emails map through their team.
PEOPLE = (
    ("dana@example.com", "Dana Scully", "search"),
    ("li.wei@example.com", "Li Wei", "search"),
    ("priya@example.com", "Priya Nair", "support"),
)
SEARCH_DEVELOPERS = ("member-search@example.com", "lead-search@example.com", "dana@example.com", "li.wei@example.com")
SUPPORT_DEVELOPERS = ("lead-support@example.com", "priya@example.com")

# A team spelling services still send, and the team it stands for.
TEAM_ALIASES = (("search-team", "search"),)

PLATFORM_RULE = "Platform team (retrieval and ingestion)"
UNATTRIBUTED_RULE = "Unattributed spend"
VECTOR_DB_RULE = "Vector database"
VECTOR_DB_MONTHLY = Decimal("450.00")
VECTOR_DB_SPLIT = (("search", Decimal(50)), ("support", Decimal(30)), ("insights", Decimal(20)))

# The providers' bills for the demo's past months: each team's workspace or project billed what its
# events recorded, and one planted difference: a day of Console use on a workspace nobody mapped.
BILL_SCOPE_PREFIX = {"anthropic": "wrkspc_demo_", "openai": "proj_demo_"}
CONSOLE_SCOPE = "wrkspc_demo_console"
CONSOLE_SPEND = Decimal("37.40")
CONSOLE_DAYS_BEFORE_MONTH_END = 10

RUNAWAY_AGENT = "research-bot"
RUNAWAY_HOURS = 54
RUNAWAY_CUSTOMER = "acct-1003"
LEFT_RUNNING_FEATURE = "enrichment-backfill"
LEFT_RUNNING_HOURS = 240
# A routing saving marked done this many days ago, whose realised saving the demo shows.
FIXED_FEATURE = "ticket-summary"
FIXED_DAYS_AGO = 30


def _w(*pairs) -> tuple:
    return tuple(pairs)


# fmt: off
WORKLOADS = (
    # Platform: embeddings and query rewriting behind every product's retrieval; document enrichment in batch.
    Workload("embed", "platform-retrieval", "query-embedding", _w((EMBEDDING, 1)), 400, 0,
             product="retrieval", calls_per_day=40, weekend=0.5),
    Workload("rewrite", "platform-retrieval", "query-rewrite", _w((HAIKU, 1)), 2500, 150,
             product="retrieval", calls_per_day=50, weekend=0.5),
    Workload("enrich", "platform-retrieval", "chunk-enrichment", _w((SONNET, 1)), 20000, 2000,
             product="doc-ingestion", calls_per_day=120, weekend=1.0, hours=AROUND_THE_CLOCK, service_tier="batch"),
    # Search: cheap query understanding, cached RAG answers, citation checks; staging and dev.
    Workload("query", "search-api", "query-understanding", _w((GPT_4O_MINI, 1)), 1500, 150,
             product="semantic-search", calls_per_day=60, weekend=0.45, customers=True),
    Workload("answers", "search-api", "answer-generation", _w((SONNET, 0.85), (GPT_4O, 0.15)), 28000, 900,
             product="answer-engine", calls_per_day=150, weekend=0.45, customers=True,
             cached_prefix=8000, cache_hit=0.8, growth=0.3),
    Workload("citations", "search-api", "citation-check", _w((HAIKU, 1)), 8000, 300,
             product="answer-engine", calls_per_day=50, weekend=0.45, customers=True),
    Workload("answers-stg", "search-api", "answer-generation", _w((SONNET, 1)), 20000, 800,
             product="answer-engine", environment="staging", calls_per_day=12, weekend=0.1),
    Workload("answers-dev", "search-api", "prompt-experiments", _w((SONNET, 0.7), (OPUS, 0.3)), 15000, 900,
             product="answer-engine", environment="development", calls_per_day=14, weekend=0.05),
    # Support: the customer-facing agent (prompt cached), ticket triage, and a summary call nobody tagged.
    Workload("agent", "support-bot", "chat-resolution", _w((SONNET, 1)), 36000, 600,
             product="support-assistant", agent="support-agent", steps=(2, 6), calls_per_day=180, weekend=0.6,
             customers=True, cached_prefix=10000, cache_hit=0.85),
    Workload("triage", "support-bot", "classify", _w((HAIKU, 1)), 3000, 120,
             product="ticket-triage", calls_per_day=60, weekend=0.6, customers=True),
    Workload("summaries", "support-bot", "summarize", _w((SONNET, 1)), 6000, 400,
             calls_per_day=12, weekend=0.6),
    Workload("agent-stg", "support-bot", "chat-resolution", _w((SONNET, 1)), 30000, 600,
             product="support-assistant", environment="staging", agent="support-agent", steps=(2, 4),
             calls_per_day=10, weekend=0.1),
    # Growth: outreach drafts, lead scoring, untagged ad copy, a little dev work, and the forgotten backfill.
    Workload("outreach", "growth-services", "outreach-draft", _w((GPT_4O, 1)), 6000, 700,
             product="email-writer", agent="outreach-agent", steps=(1, 3), calls_per_day=60, weekend=0.1),
    Workload("scoring", "growth-services", "lead-score", _w((GPT_4O_MINI, 1)), 2200, 80,
             product="lead-scoring", calls_per_day=40, weekend=0.1),
    Workload("ad-copy", "growth-services", "ad-copy", _w((GPT_4O, 1)), 2500, 500,
             calls_per_day=15, weekend=0.1),
    Workload("growth-dev", "growth-services", "prompt-experiments", _w((GPT_4O, 1)), 4000, 600,
             product="lead-scoring", environment="development", calls_per_day=10, weekend=0.05),
    Workload(LEFT_RUNNING_FEATURE, "growth-services", LEFT_RUNNING_FEATURE, _w((SONNET, 1)), 40000, 1500,
             product="lead-scoring", environment="development", hours=AROUND_THE_CLOCK,
             per_hour=15, last_hours=LEFT_RUNNING_HOURS),
    # Insights: the SQL copilot, the research agent, and the research agent stuck in a loop for one customer.
    Workload("sql", "insights-agents", "sql-generation", _w((SONNET, 0.7), (GPT_4O, 0.3)), 20000, 900,
             product="analytics-copilot", agent="sql-copilot", steps=(2, 5), calls_per_day=130, weekend=0.15,
             customers=True, cached_prefix=6000, cache_hit=0.75),
    Workload("research", "insights-agents", "deep-research", _w((SONNET, 0.75), (OPUS, 0.25)), 40000, 1500,
             product="research-assistant", agent=RUNAWAY_AGENT, steps=(4, 9), calls_per_day=80, weekend=0.35,
             customers=True, cached_prefix=8000, cache_hit=0.7, reasoning=0.3),
    Workload("research-loop", "insights-agents", "deep-research", _w((OPUS, 1)), 30000, 700,
             product="research-assistant", agent=RUNAWAY_AGENT, steps=(48, 48), customer=RUNAWAY_CUSTOMER,
             hours=AROUND_THE_CLOCK, reasoning=0.3, context_growth=600, per_hour=15, last_hours=RUNAWAY_HOURS,
             escalates=True),
    Workload("sql-stg", "insights-agents", "sql-generation", _w((SONNET, 1)), 15000, 600,
             product="analytics-copilot", environment="staging", agent="sql-copilot", steps=(2, 3),
             calls_per_day=10, weekend=0.1),
    # Billing: invoice line items and dunning emails, per customer.
    Workload("invoices", "billing-pipeline", "line-items", _w((GPT_4O, 1)), 8000, 600,
             product="invoice-extraction", calls_per_day=70, weekend=0.2, customers=True),
    Workload("dunning", "billing-pipeline", "dunning-email", _w((HAIKU, 1)), 3000, 500,
             product="collections-assistant", calls_per_day=35, weekend=0.1, customers=True),
    Workload("billing-dev", "billing-pipeline", "prompt-experiments", _w((GPT_4O, 1)), 5000, 600,
             product="invoice-extraction", environment="development", calls_per_day=8, weekend=0.05),
    # The gaps: no team, a team that no longer exists, and a spelling the alias repairs.
    Workload("digest", "legacy-batch", "weekly-digest", _w((GPT_4O, 1)), 12000, 900,
             calls_per_day=18, weekend=1.0, hours=NIGHTLY),
    Workload("old-search", "legacy-batch", "reindex-summaries", _w((SONNET, 1)), 10000, 600,
             team="Search-Team-Old", product="semantic-search", calls_per_day=25, weekend=1.0, hours=NIGHTLY),
    Workload("synonyms", "legacy-batch", "synonym-mining", _w((GPT_4O_MINI, 1)), 3000, 200,
             team="Search Team", product="semantic-search", calls_per_day=25, weekend=1.0, hours=NIGHTLY),
    Workload("notebooks", "notebooks", "", _w((SONNET, 0.7), (GPT_4O, 0.3)), 15000, 1000,
             calls_per_day=20, weekend=0.05),
    # Planted savings: short routine calls on Opus, a nightly report on the standard tier, replies
    # without an output cap, a lookup stuffing whole documents into some prompts, paid-for failed
    # extractions, and contract summaries whose prompts keep growing.
    Workload("intent", "support-bot", "intent-detection", _w((OPUS, 1)), 800, 40,
             product="ticket-triage", calls_per_day=80, weekend=0.6),
    Workload("nightly-report", "insights-agents", "nightly-report", _w((SONNET, 1)), 12000, 1500,
             product="analytics-copilot", calls_per_day=60, weekend=1.0, hours=NIGHTLY),
    Workload("reply-draft", "growth-services", "reply-draft", _w((SONNET, 1)), 1500, 800,
             product="email-writer", calls_per_day=100, weekend=0.3, output_tail=0.1),
    Workload("kb-lookup", "support-bot", "kb-lookup", _w((SONNET, 1)), 3000, 200,
             product="support-assistant", calls_per_day=100, weekend=0.6, input_tail=0.1),
    Workload("pdf-extraction", "billing-pipeline", "pdf-extraction", _w((SONNET, 1)), 30000, 500,
             product="invoice-extraction", calls_per_day=60, weekend=0.2, error_rate=0.35),
    Workload("contracts", "billing-pipeline", "contract-summary", _w((SONNET, 1)), 8000, 300,
             product="invoice-extraction", calls_per_day=100, weekend=0.2, input_growth=0.5),
    # Coding agents: developers' sessions, each task one person's, charged to their team.
    Workload("coding-agent", "search-api", "coding-agent", _w((SONNET, 0.8), (OPUS, 0.2)), 30000, 900,
             agent="claude-code", steps=(3, 10), calls_per_day=30, weekend=0.1,
             cached_prefix=20000, cache_hit=0.85, context_growth=2000, people=SEARCH_DEVELOPERS),
    Workload("coding-agent", "support-bot", "coding-agent", _w((SONNET, 1)), 25000, 700,
             agent="claude-code", steps=(3, 8), calls_per_day=12, weekend=0.1,
             cached_prefix=15000, cache_hit=0.85, context_growth=1500, people=SUPPORT_DEVELOPERS),
    # A fix already made: routine ticket summaries moved from Opus to Haiku (see FIXED_SAVING).
    Workload("ticket-summary", "support-bot", FIXED_FEATURE, _w((OPUS, 1)), 1200, 150,
             product="ticket-triage", calls_per_day=60, weekend=0.6, switched_to=HAIKU, switched_days=FIXED_DAYS_AGO),
)
# fmt: on


ANCHOR_CUSTOMERS = (
    ("acct-1001", "Northwind Health", "enterprise", Decimal("24000.00")),
    ("acct-1002", "Globex Logistics", "enterprise", Decimal("18500.00")),
    ("acct-1003", "Initech Capital", "enterprise", Decimal("15000.00")),
    ("acct-1004", "Umbrella Retail", "enterprise", Decimal("12000.00")),
    ("acct-1005", "Stark Manufacturing", "enterprise", Decimal("9500.00")),
)
_NAME_FIRST = (
    "Acme", "Blue Harbor", "Cedar", "Delta", "Evergreen", "Fjord", "Granite", "Horizon", "Ironwood", "Juniper",
    "Keystone", "Lumen", "Meridian", "Nimbus", "Orchid", "Pioneer", "Quarry", "Redwood", "Summit", "Tidal",
)  # fmt: skip
_NAME_SECOND = (
    "Analytics", "Bank", "Clinics", "Foods", "Freight", "Games", "Insurance", "Labs", "Legal", "Media",
    "Motors", "Partners", "Pharma", "Realty", "Robotics", "Software", "Studios", "Travel",
)  # fmt: skip


@dataclass(frozen=True)
class CustomerSpec:
    external_id: str
    name: str
    tier: str
    monthly_revenue: Decimal | None
    weight: float  # how much of a customer-facing product's traffic is theirs


def customer_specs(*, count: int, rng) -> list[CustomerSpec]:
    """A few big enterprise accounts, then a long tail: most free, some pro, a few enterprise.

    About one in eight free accounts has no revenue figure (trials the billing system does not know).
    """
    specs = [CustomerSpec(*anchor, weight=40.0 - 5 * i) for i, anchor in enumerate(ANCHOR_CUSTOMERS)]
    names = [f"{a} {b}" for a in _NAME_FIRST for b in _NAME_SECOND]
    rng.shuffle(names)
    for n in range(len(specs), count):
        roll = rng.random()
        if roll < 0.08:
            tier, revenue, weight = "enterprise", Decimal(rng.randrange(3000, 9000, 50)), rng.uniform(4, 12)
        elif roll < 0.40:
            tier, revenue, weight = "pro", Decimal(rng.choice((49, 99, 199, 299, 499))), rng.uniform(0.8, 3)
        else:
            tier, revenue, weight = "free", Decimal(0), rng.uniform(0.05, 0.6)
            if rng.random() < 0.125:
                revenue = None
        name = names[n % len(names)] + ("" if n < len(names) else f" {n // len(names) + 1}")
        revenue = None if revenue is None else revenue.quantize(Decimal("0.01"))
        specs.append(CustomerSpec(f"acct-{1001 + n}", name, tier, revenue, weight))
    return specs
