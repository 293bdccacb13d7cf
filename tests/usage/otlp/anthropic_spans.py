"""One Anthropic call with cache writes of both lifetimes, as two emitters write its span."""

from __future__ import annotations

# The spans the anthropic SDK's own tracing and OpenLLMetry write for one call (their attributes
# as those libraries set them; test_sdk_tracing.py exports the real ones).
SDK = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
    "gen_ai.response.id": "msg_01",
    "gen_ai.usage.input_tokens": 6000,
    "gen_ai.usage.cache_read.input_tokens": 2000,
    "gen_ai.usage.cache_write.input_tokens": 3000,
    "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 1000,
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 2000,
    "gen_ai.usage.output_tokens": 500,
}
OPENLLMETRY = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
    "gen_ai.response.id": "msg_01",
    "gen_ai.usage.input_tokens": 6000,
    "gen_ai.usage.cache_read.input_tokens": 2000,
    "gen_ai.usage.cache_creation.input_tokens": 3000,
    "gen_ai.usage.output_tokens": 500,
    "gen_ai.usage.total_tokens": 6500,
}
