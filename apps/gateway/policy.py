"""A call's tags (key, headers, body) resolved as ingestion resolves them, and the policies that refuse it."""

from __future__ import annotations

from django.conf import settings

from apps.org.tags import EVENT_TAGS
from apps.usage.event import STRING_FIELDS
from apps.usage.tagging import ResolvedTags

from .errors import Refused

# X-Attribution-Team … X-Attribution-Trace-Id, lowercased as ASGI servers hand headers over.
TAG_HEADERS = {f"x-attribution-{name.replace('_', '-')}": name for name in EVENT_TAGS}


def request_tags(*, headers: dict[str, str], body_customer: str) -> dict[str, str]:
    """The tags the call itself sends: attribution headers, the body's user id as customer."""
    tags: dict[str, str] = {}
    for header, name in TAG_HEADERS.items():
        value = headers.get(header, "").strip()
        if not value:
            continue
        if len(value) > STRING_FIELDS[name] or "\x00" in value:
            raise Refused(
                400,
                "invalid_tag",
                f"Header {header_title(header)} must be at most {STRING_FIELDS[name]} characters, without NUL.",
            )
        tags[name] = value
    if "customer" not in tags and body_customer:
        tags["customer"] = body_customer[: STRING_FIELDS["customer"]]
    return tags


def header_title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))


def budget_refusal(*, exhausted: dict[tuple[str, int | None], str], resolved: ResolvedTags) -> str | None:
    """Why an exhausted hard-limit budget of the call's product, charged team or organisation
    refuses the call, or None."""
    scopes = (("product", resolved.product_id), ("team", resolved.charged_team_id), ("organisation", None))
    for scope in scopes:
        if scope[0] != "organisation" and scope[1] is None:
            continue
        if scope in exhausted:
            return exhausted[scope]
    return None


def policy_check(
    *, resolved: ResolvedTags, exhausted: dict[tuple[str, int | None], str], spends: bool
) -> dict[str, str]:
    """Refuse a call before it spends (raises Refused), or return the attributes its event
    carries for the policies in `warn` mode. The team rule holds for every call (it also picks
    the provider credential); the tag and budget policies for calls that can spend."""
    if resolved.forbidden:
        raise Refused(403, "tag_not_allowed", " ".join(resolved.forbidden[tag] for tag in sorted(resolved.forbidden)))
    attributes: dict[str, str] = {}
    if not spends:
        return attributes
    if resolved.missing:
        environment = resolved.environment or "(none given)"
        message = (
            f"Missing required tags for environment {environment}: {', '.join(resolved.missing)}. "
            "Send them as X-Attribution-* headers or set them on the API key."
        )
        if settings.GATEWAY_TAG_POLICY == "enforce":
            raise Refused(400, "missing_tags", message)
        attributes["gateway_warning_missing_tags"] = ",".join(resolved.missing)
    refusal = budget_refusal(exhausted=exhausted, resolved=resolved)
    if refusal:
        if settings.GATEWAY_BUDGET_POLICY == "enforce":
            raise Refused(429, "budget_exhausted", refusal)
        attributes["gateway_warning_budget"] = refusal[:256]
    return attributes
