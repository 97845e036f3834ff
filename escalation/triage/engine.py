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
from escalation.triage.protocol import CompiledPatterns, CompiledSafetyNet, Protocol, load_protocol
from escalation.triage.rules import Outcome, evaluate, match_patterns
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
        net = self.protocol.safety_net
        symptom_words = (
            has_symptom_words(utt, self.protocol)
            or any(o.level == "routine" for o in outcomes)
            or (net is not None and _describes_complaint(net, utt))
        )
        net_hit = _safety_net(net, safe, utt, outcomes) if net is not None and level == "routine" else None
        if net_hit is not None:
            level = net_hit.level
        intent = detect_intent(utt, self.protocol, level != "routine", symptom_words and not clinical)
        hits = sorted((_hit(safe, utt, found, ctx, o) for o in reported), key=lambda h: -level_rank(h.level))
        if net_hit is not None:
            hits.insert(0, net_hit)
        action = net_hit.action if net_hit is not None else self._action(level, reported, clinical, intent)
        return TriageDecision(
            level=level,
            action=action,
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


def _safety_net(net: CompiledSafetyNet, safe: str, utt: Utterance, outcomes: list[Outcome]) -> RuleHit | None:
    """A hit when a complaint word is left that nothing recognises (see prompts/triage/safety_net.yaml)."""
    if not utt.index.present(net.complaint.phrase_heads):
        return None
    complaints = [s for s in match_patterns(net.complaint, utt) if not _negated_nearby(utt, s)]
    if not complaints:
        return None
    ignored = _spans(net.ignore, utt)
    segment = _segments(safe, utt.tokens)
    intense = {segment[s.first] for s in match_patterns(net.intense, utt)}
    clause = utt.scope.clause
    calm = {clause[s.first] for s in match_patterns(net.mild, utt)
            if _reassures(utt.words, s) and segment[s.first] not in intense}
    benign = [b for b in _spans(net.benign, utt) if segment[b.first] not in intense]
    benign.extend(s for o in outcomes for s in o.spans)  # what a routine rule recognised (mal au ventre...)
    left = [
        s for s in complaints
        if clause[s.first] not in calm
        and not any(k.first <= s.last and s.first <= k.last for k in ignored)
        and not any(_near(b, s, segment) for b in benign)
    ]
    if not left:
        return None
    whole = Span(min(s.first for s in left), max(s.last for s in left))
    words = _text(safe, utt.tokens, whole)
    if len(words) > _MAX_EVIDENCE_CHARS:
        words = _text(safe, utt.tokens, left[0])[:_MAX_EVIDENCE_CHARS]
    spec = net.spec
    return RuleHit(spec.id, spec.level, spec.label, words, spec.action)


_NEGATION_REACH = 4
_BENIGN_REACH = 4
"""A benign complaint or body region speaks for the complaint words a few words around it ("mal au genou")."""


def _near(benign: Span, complaint: Span, segment: list[int]) -> bool:
    if segment[benign.first] != segment[complaint.first]:
        return False
    return benign.first - _BENIGN_REACH <= complaint.last and complaint.first <= benign.last + _BENIGN_REACH



def _negated_nearby(utt: Utterance, span: Span) -> bool:
    """A negation a few words before, in the same clause: "no chest pain", "pas de grosse douleur"."""
    clause = utt.scope.clause
    lo = max(0, span.first - _NEGATION_REACH)
    return any(i in utt.scope.cues and clause[i] == clause[span.first] for i in range(lo, span.first))


def _describes_complaint(net: CompiledSafetyNet, utt: Utterance) -> bool:
    """The caller speaks of a complaint, recognised or not (for the intent: "symptom" rather than "other")."""
    return bool(match_patterns(net.complaint, utt)) or bool(_spans(net.benign, utt))


def _spans(patterns: CompiledPatterns, utt: Utterance) -> list[Span]:
    if not utt.index.present(patterns.phrase_heads):
        return []
    index = utt.index
    return [s for phrase in patterns.phrases if index.has(phrase[0].key) for s in index.find(phrase, patterns.max_gap)]


_SEGMENT_WORDS = frozenset({"mais", "but", "however", "cependant", "pourtant", "sauf", "except", "although"})
_SEGMENT_PUNCT = frozenset(".;!?")


def _segments(safe: str, tokens: list[Token]) -> list[int]:
    """Sentence number of each token: an intensity cue speaks for its sentence ("mais" starts a new one), a
    mildness cue only for its clause."""
    out, current = [], 0
    for i, tok in enumerate(tokens):
        gap = safe[tokens[i - 1].end : tok.start] if i else ""
        if i and (any(ch in _SEGMENT_PUNCT for ch in gap) or tok.norm in _SEGMENT_WORDS):
            current += 1
        out.append(current)
    return out


_NOT_REASSURING_AFTER = frozenset({"plus", "pas", "rien", "jamais", "not", "t", "jusque", "jusqu", "dans", "vers"})


def _reassures(words: list[str], span: Span) -> bool:
    """ "il joue" reassures, "il joue plus" does not."""
    nxt = words[span.last + 1] if span.last + 1 < len(words) else ""
    return nxt not in _NOT_REASSURING_AFTER


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
