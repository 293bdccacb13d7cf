"""The tags an event carries and how their values are normalized; imports no model, so any layer may use it.

`TAGS` is the one list: the event's input fields and schema, its stored columns (apps.usage.models),
the normalization at ingestion (apps.usage.tagging) and the events API's output all follow it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

# How a tag's value is normalized: "slug" lowercases it to a slug and applies the registry's aliases;
# "id" keeps another system's key as sent (aliases still match it loosely); "opaque" keeps it as is.
TagKind = Literal["slug", "id", "opaque"]


@dataclass(frozen=True)
class Tag:
    max_length: int
    kind: TagKind = "slug"
    # Resolved to a registry row (team, product, environment): stored as `<tag>_tag` beside a foreign key.
    registry: bool = False
    help: str = ""


TAGS = {
    "team": Tag(128, registry=True),
    "product": Tag(128, registry=True),
    "feature": Tag(128),
    "environment": Tag(64, registry=True, help="production, staging, prod, dev, …"),
    "customer": Tag(128, kind="id", help="Your customer's external id."),
    "agent": Tag(128),
    "trace_id": Tag(128, kind="opaque", help="Groups the calls of one request or agent task."),
    # Who made the call (a developer's coding agent, a seat user): an email or the provider's user id.
    "person": Tag(255, kind="id", help="Who made the call: an email or the provider's user id."),
    # The workspace or project the provider bills the call to: reconciliation compares per scope.
    "provider_scope": Tag(
        255, kind="opaque", help="The Anthropic workspace id or OpenAI project id the provider bills the call to."
    ),
}
EVENT_TAGS = tuple(TAGS)
# Tag → the longest value stored. A tag policy may require any of them.
TAG_LENGTHS = {name: tag.max_length for name, tag in TAGS.items()}
# Tags stored in a column of their own name (the registry tags have a column and a foreign key).
PLAIN_TAGS = tuple(name for name, tag in TAGS.items() if not tag.registry)

_NOT_SLUG = re.compile(r"[^\w.-]+")


def normalize_tag(value: str) -> str:
    """`  Search Team ` → `search-team`: trimmed, lowercased (Unicode-aware: `ＳＥＡＲＣＨ` → `search`,
    `検索` stays), runs of other characters as one dash."""
    return _NOT_SLUG.sub("-", unicodedata.normalize("NFKC", value).casefold()).strip("-")
