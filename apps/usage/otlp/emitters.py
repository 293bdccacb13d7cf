"""Who emitted a span, read from what the span says about itself, and whether its input count
includes the cached tokens (docs/opentelemetry.md, "Which input count")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The vendor prefix under which only the anthropic SDK's own tracing writes usage.
ANTHROPIC_SDK_PREFIX = "anthropic.usage."
TELEMETRY_SDK_NAME = "telemetry.sdk.name"


@dataclass(frozen=True)
class Emitter:
    """A known emitter of GenAI spans. `uncached_input_for` names the providers whose own input
    count (cache excluded, as Anthropic's API reports it) the emitter copies into the input
    attribute; for every other provider its input count includes the cached tokens, as the
    conventions say it should."""

    name: str
    uncached_input_for: frozenset[str] = frozenset()

    def input_includes_cache(self, provider: str) -> bool:
        return provider not in self.uncached_input_for


CONVENTIONS = Emitter("the GenAI conventions")
ANTHROPIC_SDK = Emitter("the anthropic SDK's own tracing")
OPENLLMETRY = Emitter("OpenLLMetry")
# OpenLLMetry's Anthropic instrumentation before 0.34 copied Anthropic's input_tokens and reported
# no cache counts; 0.34 added the cache counts and has summed them into the input count since.
OPENLLMETRY_BEFORE_CACHE = Emitter("OpenLLMetry before 0.34", frozenset({"anthropic"}))
OPENTELEMETRY_GENAI = Emitter("the OpenTelemetry GenAI instrumentations")
# OpenLIT writes Anthropic's input_tokens as the API reports it and the cache counts beside it.
OPENLIT = Emitter("OpenLIT", frozenset({"anthropic"}))

OPENLLMETRY_ANTHROPIC = "opentelemetry.instrumentation.anthropic"
OPENLLMETRY_SCOPES = (OPENLLMETRY_ANTHROPIC, "opentelemetry.instrumentation.openai.v1")
GENAI_SCOPES = ("opentelemetry.util.genai", "opentelemetry.instrumentation.openai_v2")


def version_tuple(version: str) -> tuple[int, ...]:
    """The release numbers of a version string ("0.62.4" → (0, 62, 4)); () when it has none."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", version.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def _scope_is(name: str, scopes: tuple[str, ...]) -> bool:
    return any(name == scope or name.startswith(scope + ".") for scope in scopes)


def emitter_of(
    *, scope_name: str, scope_version: str, attributes: Mapping[str, Any], resource: Mapping[str, Any]
) -> Emitter:
    """The emitter a span names by its instrumentation scope, else by its attribute prefixes or
    its resource; the conventions for any other."""
    if _scope_is(scope_name, ("com.anthropic.sdk.python",)):
        return ANTHROPIC_SDK
    if _scope_is(scope_name, OPENLLMETRY_SCOPES):
        old = scope_name == OPENLLMETRY_ANTHROPIC and (0,) < version_tuple(scope_version) < (0, 34)
        return OPENLLMETRY_BEFORE_CACHE if old else OPENLLMETRY
    if _scope_is(scope_name, GENAI_SCOPES):
        return OPENTELEMETRY_GENAI
    if scope_name.startswith("openlit") or resource.get(TELEMETRY_SDK_NAME) == "openlit":
        return OPENLIT
    if any(key.startswith(ANTHROPIC_SDK_PREFIX) for key in attributes):
        return ANTHROPIC_SDK
    return CONVENTIONS
