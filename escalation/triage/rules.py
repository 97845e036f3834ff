"""Evaluation of one compiled rule against an utterance and the call context."""

from __future__ import annotations

from dataclasses import dataclass

from escalation.thresholds import Thresholds
from escalation.triage.findings import Utterance, valid_spans
from escalation.triage.matching import Phrase, Span
from escalation.triage.models import Action, CallContext, Level, level_rank
from escalation.triage.protocol import CompiledPatterns, CompiledRule, Modifier, Requires

_EVIDENCE_KEYS: dict[str, tuple[str, ...]] = {
    "age_months_below": ("age", "subject"), "age_months_at_least": ("age", "subject"),
    "child": ("subject", "age"), "pregnant": ("pregnant",), "fever": ("fever", "temperature"),
    "high_fever": ("temperature", "fever"), "lasting_fever": ("fever", "temperature"),
    "travel": ("travel",), "anticoagulants": ("anticoagulants",),
}


@dataclass(frozen=True)
class Outcome:
    """A rule that fired: its final level, action, label and the spans or words that show it."""

    rule: CompiledRule
    level: Level
    action: Action
    label: str
    span: Span | None
    context_keys: tuple[str, ...]
    spans: tuple[Span, ...] = ()


def match_patterns(patterns: CompiledPatterns, utt: Utterance) -> list[Span]:
    """Valid (not negated, not past) occurrences of any phrase or group."""
    found: list[Span] = []
    index = utt.index
    if index.present(patterns.phrase_heads):
        for phrase in patterns.phrases:
            if index.has(phrase[0].key):
                spans = index.find(phrase, patterns.max_gap)
                if spans:
                    found.extend(valid_spans(utt, spans))
    for (components, window), heads in zip(patterns.groups, patterns.group_heads, strict=True):
        if all(utt.index.present(h) for h in heads):
            found.extend(_group_spans(utt, components, window, patterns.max_gap))
    return found


def _group_spans(
    utt: Utterance, components: tuple[tuple[Phrase, ...], ...], window: int, max_gap: int
) -> list[Span]:
    index = utt.index
    per_component = [
        valid_spans(utt, [s for phrase in alts if index.has(phrase[0].key) for s in index.find(phrase, max_gap)])
        for alts in components
    ]
    if any(not spans for spans in per_component):
        return []
    out: list[Span] = []
    for anchor in per_component[0]:
        chosen = [anchor, *(_nearest(spans, anchor) for spans in per_component[1:])]
        first, last = min(s.first for s in chosen), max(s.last for s in chosen)
        if last - first <= window:
            out.append(Span(first, last))
    return out


def _nearest(spans: list[Span], anchor: Span) -> Span:
    return min(spans, key=lambda s: abs(s.first - anchor.first))


def requires_ok(req: Requires | None, ctx: CallContext, thresholds: Thresholds) -> bool:
    """Every stated condition holds in the call context."""
    if req is None:
        return True
    return all(
        _condition(name, value, ctx, thresholds) for name, value in req.model_dump(exclude_none=True).items()
    )


def _condition(name: str, value: float | bool, ctx: CallContext, thresholds: Thresholds) -> bool:
    if name == "age_months_below":
        return ctx.age_months is not None and ctx.age_months < value
    if name == "age_months_at_least":
        return ctx.age_months is not None and ctx.age_months >= value
    facts = {
        "child": ctx.child, "pregnant": ctx.pregnant, "fever": ctx.fever, "travel": ctx.travel,
        "anticoagulants": ctx.anticoagulants, "high_fever": high_fever(ctx, thresholds),
        "lasting_fever": lasting_fever(ctx, thresholds),
    }
    return facts[name] == value


def high_fever(ctx: CallContext, thresholds: Thresholds) -> bool:
    measured = ctx.fever_c is not None and ctx.fever_c >= thresholds.high_fever_celsius
    return measured or (ctx.fever and ctx.fever_high_said)


def lasting_fever(ctx: CallContext, thresholds: Thresholds) -> bool:
    return ctx.fever and ctx.fever_days is not None and ctx.fever_days >= thresholds.lasting_fever_days


def evaluate(
    compiled: CompiledRule, utt: Utterance, ctx: CallContext, thresholds: Thresholds
) -> Outcome | None:
    """The rule's outcome on this utterance, or None if it does not fire."""
    rule = compiled.rule
    spans = match_patterns(compiled.patterns, utt) if not compiled.patterns.empty else []
    if not compiled.patterns.empty and not spans:
        return None
    if not requires_ok(rule.requires, ctx, thresholds):
        return None
    level, action, label = rule.level, rule.action, rule.label
    for mod, patterns in compiled.downgrade:
        if _modifier_applies(mod, patterns, utt, ctx, thresholds) and level_rank(mod.level) < level_rank(level):
            level, action, label = mod.level, mod.action or action, mod.label or label
    for mod, patterns in compiled.escalate:
        if _modifier_applies(mod, patterns, utt, ctx, thresholds) and level_rank(mod.level) > level_rank(level):
            action = mod.action or _default_action(mod.level, action)
            level, label = mod.level, mod.label or label
    stated = rule.requires.model_dump(exclude_none=True) if rule.requires else {}
    keys = tuple(key for name in stated for key in _EVIDENCE_KEYS[name])
    return Outcome(compiled, level, action, label, spans[0] if spans else None, keys, tuple(spans))


def _modifier_applies(
    mod: Modifier, patterns: CompiledPatterns, utt: Utterance, ctx: CallContext, thresholds: Thresholds
) -> bool:
    if not patterns.empty and not match_patterns(patterns, utt):
        return False
    return requires_ok(mod.requires, ctx, thresholds)


def _default_action(level: Level, current: Action) -> Action:
    return "advise_15" if level == "emergency" else current
