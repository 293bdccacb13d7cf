"""Model policy at the gateway: which models a team, product, environment or feature may call and
how much output it may ask for, checked before spend from a per-process snapshot of the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import orjson

from apps.usage.tagging import ResolvedTags
from attribution_site.snapshots import VersionedSnapshot

from .errors import Refused
from .models import ModelRule, ModelRuleHit

# Where each endpoint's body asks for its output cap; the first is the one a clamp adds.
CAP_FIELDS = {
    "chat": ("max_completion_tokens", "max_tokens"),
    "completions": ("max_tokens",),
    "responses": ("max_output_tokens",),
    "messages": ("max_tokens",),
}


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    team_id: int | None
    product_id: int | None
    environment_id: int | None
    feature: str
    allowed: tuple[str, ...]
    denied: tuple[str, ...]
    cap: int | None
    clamp: bool
    enforce: bool

    def applies(self, resolved: ResolvedTags) -> bool:
        return (
            (self.team_id is None or self.team_id == resolved.charged_team_id)
            and (self.product_id is None or self.product_id == resolved.product_id)
            and (self.environment_id is None or self.environment_id == resolved.environment_id)
            and (not self.feature or self.feature == resolved.values.get("feature", ""))
        )

    def model_refusal(self, model: str) -> str | None:
        name = model.lower()
        if any(fnmatchcase(name, pattern) for pattern in self.denied):
            return f"model {model!r} is denied"
        if self.allowed and not any(fnmatchcase(name, pattern) for pattern in self.allowed):
            return f"model {model!r} is not among the allowed models ({', '.join(self.allowed)})"
        return None


def _build() -> list[Rule]:
    return [
        Rule(
            id=rule.id,
            name=rule.name,
            team_id=rule.team_id,
            product_id=rule.product_id,
            environment_id=rule.environment_id,
            feature=rule.feature.strip().lower(),
            allowed=tuple(ModelRule.patterns(rule.allowed_models)),
            denied=tuple(ModelRule.patterns(rule.denied_models)),
            cap=rule.max_output_tokens,
            clamp=rule.over_cap == ModelRule.OverCap.CLAMP,
            enforce=rule.mode == ModelRule.Mode.ENFORCE,
        )
        for rule in ModelRule.objects.filter(active=True)
    ]


model_rules = VersionedSnapshot("gateway-model-rules", _build)
model_rules.invalidate_on_change(ModelRule)


@dataclass
class RuleVerdict:
    """What the rules make of a call that passes: a cap to clamp it to, warnings for its event,
    and each rule's outcome to count (ModelRuleHit)."""

    clamp_to: int | None = None
    warnings: list[str] = field(default_factory=list)
    hits: list[tuple[int, str]] = field(default_factory=list)  # (rule id, outcome)


def requested_caps(*, endpoint: str, caps: dict[str, int]) -> dict[str, int]:
    """The output caps the body asks for that the endpoint reads, by field."""
    return {name: value for name, value in caps.items() if name in CAP_FIELDS.get(endpoint, ())}


def rules_check(
    *, rules: list[Rule], resolved: ResolvedTags, endpoint: str, model: str, caps: dict[str, int], count
) -> RuleVerdict:
    """Check a call against every rule that applies to it. An enforced rule it breaks refuses it
    (Refused 403, naming the rule); `count(rule_id, outcome)` is called for every hit, refusals included."""
    verdict = RuleVerdict()
    for rule in rules:
        if not rule.applies(resolved):
            continue
        reason, code = rule.model_refusal(model), "model_not_allowed"
        over = {name: value for name, value in caps.items() if rule.cap is not None and value > rule.cap}
        if reason is None and over:
            if rule.enforce and rule.clamp and endpoint in CAP_FIELDS:
                verdict.clamp_to = min(rule.cap, verdict.clamp_to or rule.cap)
                count(rule.id, ModelRuleHit.Outcome.CLAMPED)
                continue
            name, value = next(iter(over.items()))
            reason, code = f"{name} {value} is above its cap of {rule.cap}", "max_tokens_over_cap"
        elif reason is None and rule.cap is not None and rule.clamp and rule.enforce and not caps:
            if endpoint in CAP_FIELDS:  # no cap asked for: the provider's default could be unbounded
                verdict.clamp_to = min(rule.cap, verdict.clamp_to or rule.cap)
                count(rule.id, ModelRuleHit.Outcome.CLAMPED)
            continue
        if reason is None:
            continue
        message = f"Model rule '{rule.name}' refuses this call: {reason}."
        if rule.enforce:
            count(rule.id, ModelRuleHit.Outcome.REFUSED)
            raise Refused(403, code, message)
        count(rule.id, ModelRuleHit.Outcome.WARNED)
        verdict.warnings.append(f"{rule.name}: {reason}")
    return verdict


def body_clamped(body: bytes, *, endpoint: str, cap: int) -> bytes:
    """The body with every output cap it asks for lowered to `cap` (the endpoint's own field added
    when it asks for none)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body  # the provider answers it with its own 400
    if not isinstance(payload, dict):
        return body
    fields = [name for name in CAP_FIELDS[endpoint] if name in payload] or [CAP_FIELDS[endpoint][0]]
    for name in fields:
        value = payload.get(name)
        payload[name] = min(value, cap) if isinstance(value, int) and not isinstance(value, bool) else cap
    return orjson.dumps(payload)
