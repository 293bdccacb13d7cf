"""A call's tags (key, headers, body) resolved as ingestion resolves them, and the policies that refuse it."""

from __future__ import annotations

from apps.org.tags import EVENT_TAGS
from apps.usage.event import STRING_FIELDS
from apps.usage.keys import ApiKeyInfo
from apps.usage.tagging import ResolvedTags

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


def call_owner(*, key: ApiKeyInfo, resolved: ResolvedTags) -> tuple[int | None, int | None]:
    """(team id, product id) whose budgets a call draws on: the team it names, else the key's."""
    team_id = resolved.team_id if resolved.values["team"] else key.team_id
    return team_id, resolved.product_id


def budget_refusal(
    *, exhausted: dict[tuple[str, int | None], str], key: ApiKeyInfo, resolved: ResolvedTags
) -> str | None:
    """Why an exhausted hard-limit budget refuses the call, or None."""
    team_id, product_id = call_owner(key=key, resolved=resolved)
    for scope in (("product", product_id), ("team", team_id), ("organisation", None)):
        if scope[0] != "organisation" and scope[1] is None:
            continue
        if scope in exhausted:
            return exhausted[scope]
    return None
