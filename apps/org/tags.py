"""The tags an event carries and how their values are normalized; imports no model, so any layer may use it."""

from __future__ import annotations

import re
import unicodedata

# Tag → the longest value stored. A tag policy may require any of them.
TAG_LENGTHS = {
    "team": 128,
    "product": 128,
    "feature": 128,
    "environment": 64,
    "customer": 128,
    "agent": 128,
    "trace_id": 128,
}
EVENT_TAGS = tuple(TAG_LENGTHS)

_NOT_SLUG = re.compile(r"[^\w.-]+")


def normalize_tag(value: str) -> str:
    """`  Search Team ` → `search-team`: trimmed, lowercased (Unicode-aware: `ＳＥＡＲＣＨ` → `search`,
    `検索` stays), runs of other characters as one dash."""
    return _NOT_SLUG.sub("-", unicodedata.normalize("NFKC", value).casefold()).strip("-")
