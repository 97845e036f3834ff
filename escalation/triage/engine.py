"""The triage engine: one pure function from a caller's words (and the call so far) to a decision."""

from __future__ import annotations

import functools
import logging

from escalation.thresholds import DEFAULT_THRESHOLDS, Thresholds
from escalation.triage.findings import Findings, Utterance, extract
from escalation.triage.intents import detect_intent, has_symptom_words, language
from escalation.triage.matching import Span, TermMatcher, TokenIndex
from escalation.triage.models import Action, CallContext, Intent, Level, RuleHit, TriageDecision, level_rank
from escalation.triage.normalise import MAX_CHARS, Token, clean, numbers, tokenise
from escalation.triage.protocol import Protocol, load_protocol
from escalation.triage.rules import Outcome, evaluate
from escalation.triage.scope import build_scope

logger = logging.getLogger(__name__)
_MAX_EVIDENCE_CHARS = 200


@functools.lru_cache(maxsize=1)
def default_protocol() -> Protocol:
    """The packaged protocol, loaded once per process."""
    return load_protocol()


class TriageEngine:
    """Assesses caller utterances against the protocol under a manager's thresholds."""

    def __init__(self, protocol: Protocol | None = None, thresholds: Thresholds | None = None,
                 *, _matcher: TermMatcher | None = None) -> None:
        self.protocol = protocol if protocol is not None else default_protocol()
        self.thresholds = thresholds if thresholds is not None else DEFAULT_THRESHOLDS
        score = self.thresholds.fuzzy_match_min_score
        reuse = _matcher is not None and _matcher.min_score == score
        self._matcher = _matcher if reuse and _matcher else TermMatcher(self.protocol.terms(), score)

    @classmethod
    def default(cls) -> TriageEngine:
        """One shared engine on the packaged protocol and default thresholds."""
        return _default_engine()

    def with_thresholds(self, thresholds: Thresholds) -> TriageEngine:
        """The same protocol under other thresholds (e.g. a manager's draft)."""
        return TriageEngine(self.protocol, thresholds, _matcher=self._matcher)

    def assess(self, text: str, *, context: CallContext | None = None) -> TriageDecision:
        """Level, action, intent and fired rules for one utterance; never raises."""
        context = context if context is not None else CallContext()
        try:
            return self._assess(text, context)
        except Exception:  # the safety guard must answer whatever happens: fail towards a human
            logger.exception("triage engine failed; answering with a safe decision")
            return _safe_decision(context, self.thresholds)

    def _assess(self, text: object, context: CallContext) -> TriageDecision:
        safe = clean(text)
        tokens = tokenise(safe)
        words = [t.norm for t in tokens]
        nums = numbers(safe, tokens)
        utt = Utterance(words, tokens, nums, build_scope(safe, tokens, nums), TokenIndex(words, self._matcher))
        found = extract(utt, self.protocol)
        ctx = context.merged(found.as_context(lambda s: _text(safe, tokens, s)))
        outcomes = [o for o in (evaluate(r, utt, ctx, self.thresholds) for r in self.protocol.rules) if o]
        return self._decide(safe, utt, found, ctx, outcomes, truncated=_length(text) > MAX_CHARS)

    def _decide(self, safe: str, utt: Utterance, found: Findings, ctx: CallContext, outcomes: list[Outcome],
                *, truncated: bool) -> TriageDecision:
        reported = [o for o in outcomes if o.level != "routine" or o.rule.rule.kind == "clinical_question"]
        level: Level = max((o.level for o in reported), key=level_rank, default="routine")
        clinical = any(o.rule.rule.kind == "clinical_question" for o in outcomes)
        symptom_words = has_symptom_words(utt, self.protocol) or any(o.level == "routine" for o in outcomes)
        intent = detect_intent(utt, self.protocol, level != "routine", symptom_words and not clinical)
        hits = sorted((_hit(safe, utt, found, ctx, o) for o in reported), key=lambda h: -level_rank(h.level))
        return TriageDecision(
            level=level,
            action=self._action(level, reported, clinical, intent),
            intent=intent,
            rules=hits,
            clinical_question=clinical,
            findings=_findings_dict(found, utt, outcomes, truncated),
            context=ctx,
        )

    def _action(self, level: Level, reported: list[Outcome], clinical: bool, intent: Intent) -> Action:
        if level == "emergency":
            return "advise_15"
        if level == "urgent":
            locked = [o.action for o in reported if o.level == "urgent" and o.rule.rule.lock_action]
            return locked[0] if locked else self.thresholds.urgent_action
        if clinical:
            return self.thresholds.clinical_question_action
        if intent == "human" and self.thresholds.human_request_immediate:
            return "handoff"
        return "self_service"



@functools.lru_cache(maxsize=1)
def _default_engine() -> TriageEngine:
    return TriageEngine()


def _hit(safe: str, utt: Utterance, found: Findings, ctx: CallContext, outcome: Outcome) -> RuleHit:
    return RuleHit(
        id=outcome.rule.rule.id,
        level=outcome.level,
        label=outcome.label,
        evidence=_evidence(safe, utt, found, ctx, outcome),
        action=outcome.action,
    )


def _length(text: object) -> int:
    return len(text) if isinstance(text, str | bytes) else 0


def _text(safe: str, tokens: list[Token], span: Span) -> str:
    return safe[tokens[span.first].start : tokens[span.last].end]


def _evidence(safe: str, utt: Utterance, found: Findings, ctx: CallContext, outcome: Outcome) -> str:
    """The caller's own words: the matched span, joined with this turn's context spans when close."""
    spans = [outcome.span] if outcome.span else []
    spans.extend(span for key, span in found.spans.items() if key in outcome.context_keys)
    if spans:
        whole = _text(safe, utt.tokens, Span(min(s.first for s in spans), max(s.last for s in spans)))
        if len(whole) <= _MAX_EVIDENCE_CHARS or not outcome.span:
            return whole[:_MAX_EVIDENCE_CHARS]
        return _text(safe, utt.tokens, outcome.span)
    earlier = [ctx.evidence[k] for k in outcome.context_keys if k in ctx.evidence]
    return " / ".join(dict.fromkeys(earlier))


def _findings_dict(found: Findings, utt: Utterance, outcomes: list[Outcome], truncated: bool) -> dict[str, object]:
    return {
        "temperature_c": found.temperature_c,
        "fever": found.fever,
        "fever_days": found.fever_days,
        "age_months": found.age_months,
        "subject": found.subject or "self",
        "child": found.child,
        "pregnant": found.pregnant,
        "travel": found.travel,
        "anticoagulants": found.anticoagulants,
        "lang": language(utt.words),
        "symptoms": [o.rule.rule.id for o in outcomes if o.level == "routine" and o.rule.rule.kind == "red_flag"],
        "truncated": truncated,
    }


def _safe_decision(context: CallContext, thresholds: Thresholds) -> TriageDecision:
    hit = RuleHit("triage_error", "urgent", "Analyse impossible : une secrétaire reprend l'appel", "", "handoff")
    return TriageDecision("urgent", "handoff", "other", [hit], False, {"error": True}, context)
