"""The span attributes read for each event field, newest spelling first (docs/opentelemetry.md)."""

from __future__ import annotations

from apps.org.tags import EVENT_TAGS
from apps.usage.event import SERVICE_TIERS as EVENT_SERVICE_TIERS

PROVIDER = ("gen_ai.provider.name", "gen_ai.system")
MODEL = ("gen_ai.response.model", "gen_ai.request.model")
RESPONSE_ID = ("gen_ai.response.id",)
OPERATION = "gen_ai.operation.name"

# Token counts, newest spelling first. The sources of each are listed in docs/opentelemetry.md:
# the GenAI conventions (cache_write replaced cache_creation), the anthropic SDK's own tracing,
# OpenLLMetry (opentelemetry-semantic-conventions-ai) and conventions before 1.27.
TOKEN_SPELLINGS = {
    "input_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.usage.prompt_tokens",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.usage.completion_tokens",
    ),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_write_input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
        "llm.usage.reasoning_tokens",
    ),
}
# Anthropic's split of the cache writes by lifetime: the anthropic SDK writes it under its own
# prefix, other emitters under gen_ai.usage. The 1-hour writes are priced apart (cache_write_1h_tokens).
CACHE_WRITE_5M = (
    "anthropic.usage.cache_creation.ephemeral_5m_input_tokens",
    "gen_ai.usage.cache_creation.ephemeral_5m_input_tokens",
)
CACHE_WRITE_1H = (
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
    "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens",
)
# A span is a provider call when it has the operation name or any attribute under these prefixes.
USAGE_PREFIXES = ("gen_ai.usage.", "llm.usage.")
# Operations that wrap provider calls rather than make one: an agent span may repeat the usage of
# the calls beneath it, which would count them twice.
NOT_CALLS = frozenset({"invoke_agent", "create_agent", "execute_tool", "invoke_workflow"})

SERVICE_TIER = (
    "gen_ai.openai.response.service_tier",
    "openai.response.service_tier",
    "anthropic.response.service_tier",
    "gen_ai.request.service_tier",
)
# The canonical tiers as themselves; OpenAI answers "default" for the standard tier.
SERVICE_TIERS = {**{tier: tier for tier in EVENT_SERVICE_TIERS}, "default": "standard"}

# Every tag is read from `attribution.<tag>`, but for the ones the conventions carry themselves.
TAGS = tuple(tag for tag in EVENT_TAGS if tag not in ("trace_id", "environment"))
TAG_PREFIX = "attribution."
AGENT_FALLBACK = "gen_ai.agent.name"
SERVICE_NAME = "service.name"
ENVIRONMENT = ("deployment.environment.name", "deployment.environment")
ERROR_TYPE = "error.type"
