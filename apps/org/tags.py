"""The tags an event carries and how their values are normalized; imports no model, so any layer may use it.

`TAGS` is the one list: the event's input fields and schema, its stored columns (apps.usage.models),
the normalization at ingestion (apps.usage.tagging) and the events API's output all follow it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
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


def tag_column(name: str) -> str:
    """The events column holding a tag's stored value: a registry tag's normalized value is `<tag>_tag`."""
    return name if name in PLAIN_TAGS else f"{name}_tag"


def raw_tags_stored(sent: Mapping[str, str], stored: Mapping[str, str]) -> list[list[str | None]] | None:
    """What an event's `raw_tags` holds: nothing when it sent exactly the tag values stored (most
    events), else a [tag, value as sent] pair for each tag where they differ, the value None for a
    tag the key's defaults or pins set that the event did not send. The tags columns hold the rest."""
    pairs = [[name, sent.get(name)] for name in TAGS if sent.get(name) != (stored[name] or None)]
    return pairs or None


def raw_tags_sent(raw: dict | list | None, stored: Mapping[str, str]) -> dict[str, str]:
    """The tags as the event sent them, from its `raw_tags` and its stored tag values. Events stored
    before raw_tags held only the differences keep the whole object, taken as it is."""
    if isinstance(raw, dict):
        return raw
    sent = {name: value for name, value in stored.items() if value}
    for name, value in raw or ():
        if value is None:
            sent.pop(name, None)
        else:
            sent[name] = value
    return sent
