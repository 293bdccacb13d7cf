"""A call's tags (key, headers, body) resolved as ingestion resolves them, and the policies that refuse it."""

from __future__ import annotations

from dataclasses import dataclass

from apps.org.registry import Registry
from apps.org.tags import EVENT_TAGS, normalize_tag
from apps.usage.event import STRING_FIELDS
from apps.usage.keys import ApiKeyInfo

# X-Attribution-Team … X-Attribution-Trace-Id, lowercased as ASGI servers hand headers over.
TAG_HEADERS = {f"x-attribution-{name.replace('_', '-')}": name for name in EVENT_TAGS}


class TagHeaderInvalid(Exception):
    """A tag header that ingestion would refuse; the call is refused before it spends."""


def request_tags(*, headers: dict[str, str], body_customer: str) -> dict[str, str]:
    """The tags the call itself sends: attribution headers, the body's user id as customer."""
    tags: dict[str, str] = {}
    for header, name in TAG_HEADERS.items():
        value = headers.get(header, "").strip()
        if not value:
            continue
        if len(value) > STRING_FIELDS[name] or "\x00" in value:
            raise TagHeaderInvalid(
                f"Header {header_title(header)} must be at most {STRING_FIELDS[name]} characters, without NUL."
            )
        tags[name] = value
    if "customer" not in tags and body_customer:
        tags["customer"] = body_customer[: STRING_FIELDS["customer"]]
    return tags


def header_title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))


@dataclass(frozen=True)
class ResolvedTags:
    present: dict[str, str]  # normalized, canonical values as ingestion stores them
    team_id: int | None
    product_id: int | None
    missing: list[str]


def tags_resolve(*, key: ApiKeyInfo, sent: dict[str, str], reg: Registry) -> ResolvedTags:
    """Defaults fill gaps and pins win, then the same normalization, aliases and tag policy as
    `apps.usage.services.ingest`, so a call the gateway lets through is stored as it judged it."""
    tags = {**key.default_tags, **sent, **key.pinned_tags}
    present = {}
    for name in ("team", "product", "environment", "feature", "agent"):
        present[name] = reg.canonical(name, normalize_tag(tags.get(name, "")))
    customer = tags.get("customer", "").strip()
    present["customer"] = reg.aliases.get("customer", {}).get(normalize_tag(customer), customer)
    present["trace_id"] = tags.get("trace_id", "")
    missing = [tag for tag in reg.required_tags_for(present["environment"]) if not present[tag]]
    team_id = reg.team_ids.get(present["team"]) if present["team"] else key.team_id
    return ResolvedTags(
        present=present, team_id=team_id, product_id=reg.product_ids.get(present["product"]), missing=missing
    )


def budget_refusal(*, exhausted: dict[tuple[str, int | None], str], resolved: ResolvedTags) -> str | None:
    """Why an exhausted hard-limit budget refuses the call, or None."""
    for scope in (("product", resolved.product_id), ("team", resolved.team_id), ("organisation", None)):
        if scope[0] != "organisation" and scope[1] is None:
            continue
        if scope in exhausted:
            return exhausted[scope]
    return None
