"""The hand-off summary a secretary reads when she picks up an escalated call, built deterministically.

`build_summary` is a pure function over the call record. Where it reads its facts:

- caller: the `Patient` row if the call identified one, else `ticket.summary["caller"]`
  (`{"name": str, "birth_date": "YYYY-MM-DD"}`), and the number from the call (else the ticket);
- level: the most urgent of `ticket.level`, `call.triage_level` and every caller turn's `triage["level"]`;
- rules and evidence: `turn.triage["rules"]` of caller turns (`TriageDecision.to_dict()`: `id`, `label`,
  `level`, `evidence` — the caller's own words), first evidence of each rule kept;
- what the agent already did: `turn.triage["actions"]` of any turn, then `ticket.summary["actions"]`, each
  a dict `{"kind": K, ...}` with K one of `ACTION_KINDS`: `slots_offered` (`slots`: list of ISO local
  datetimes, `practitioner`: display name), `appointment_found` / `appointment_booked` /
  `appointment_cancelled` / `appointment_rescheduled` / `appointment_confirmed` (`starts_at`: ISO local
  datetime, `practitioner`), `message_taken` (`text`), `info_given` (`topic`);
- reason: `ticket.reason`, else the most urgent rule's label, else the intent, else the first caller words.

An LLM may rewrite the wording of `reason` and `next_step` afterwards (`polish_summary`); everything else
is kept from the deterministic summary, which is also the fallback when the polisher fails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from practice.models import Call, Patient, Practice, Practitioner, Ticket, Turn
from practice.phones import national_format

log = logging.getLogger("permanence.summary")

LEVEL_ORDER = {"routine": 0, "urgent": 1, "emergency": 2}
LEVEL_FR = {"emergency": "URGENCE VITALE", "urgent": "Urgent", "routine": "Non urgent"}
SPEAKER_FR = {"caller": "Appelant", "agent": "Agent", "secretary": "Secrétaire"}
INTENT_FR = {
    "book": "Prendre un rendez-vous", "cancel": "Annuler un rendez-vous", "reschedule": "Déplacer un rendez-vous",
    "confirm": "Confirmer un rendez-vous", "info": "Demande de renseignements", "prescription": "Ordonnance",
    "message": "Laisser un message", "human": "Demande à parler à une personne", "symptom": "Symptômes",
    "other": "Autre demande",
}
ACTION_KINDS = (
    "slots_offered", "appointment_found", "appointment_booked", "appointment_cancelled",
    "appointment_rescheduled", "appointment_confirmed", "message_taken", "info_given",
)
APPOINTMENT_FR = {
    "appointment_found": "Rendez-vous existant trouvé", "appointment_booked": "Rendez-vous pris",
    "appointment_cancelled": "Rendez-vous annulé", "appointment_rescheduled": "Rendez-vous déplacé",
    "appointment_confirmed": "Rendez-vous confirmé",
}
REASON_MAX = 160


class CallerInfo(BaseModel):
    name: str = ""
    number: str = ""
    birth_date: date | None = None


class RuleFired(BaseModel):
    id: str
    label: str = ""
    level: str = "routine"
    evidence: str = ""


class AgentAction(BaseModel):
    kind: str
    text: str  # French, one line
    data: dict[str, Any] = Field(default_factory=dict)


class TranscriptLine(BaseModel):
    seq: int
    speaker: str
    text: str
    at: datetime | None = None


class HandoffSummary(BaseModel):
    """What the secretary needs to take the call over, in the order she reads it."""

    ticket_id: str
    kind: str = "handoff"
    level: str = "routine"
    caller: CallerInfo = Field(default_factory=CallerInfo)
    practice_id: int | None = None
    practice_name: str = ""
    practitioner_name: str = ""
    reason: str = ""
    rules: list[RuleFired] = Field(default_factory=list)
    actions: list[AgentAction] = Field(default_factory=list)
    next_step: str = ""
    transcript: list[TranscriptLine] = Field(default_factory=list)
    callback_due: datetime | None = None
    source: Literal["deterministic", "llm"] = "deterministic"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_text(self) -> str:
        """The summary as French plain text (for copy, print or an e-mail to the practitioner)."""
        return "\n".join(_text_lines(self))


class SummaryPolisher(Protocol):
    """An LLM that rewrites the wording of a summary (`reason`, `next_step`); configured, never required."""

    def polish(self, summary: HandoffSummary) -> HandoffSummary: ...


def build_summary(
    *,
    ticket: Ticket,
    call: Call | None = None,
    turns: Sequence[Turn] = (),
    patient: Patient | None = None,
    practice: Practice | None = None,
    practitioner: Practitioner | None = None,
) -> HandoffSummary:
    """The deterministic hand-off summary of one escalated call (pure: no I/O)."""
    ordered = sorted(turns, key=lambda t: t.seq)
    triages = [t.triage for t in ordered if t.speaker == "caller" and isinstance(t.triage, dict)]
    rules = _rules(triages)
    levels = [ticket.level, call.triage_level if call else "routine", *(str(t.get("level", "")) for t in triages)]
    level = _max_level(levels)
    actions = _actions([*(a for t in ordered if isinstance(t.triage, dict) for a in _list(t.triage.get("actions"))),
                        *_list(ticket.summary.get("actions"))])
    summary = HandoffSummary(
        ticket_id=ticket.id,
        kind=ticket.kind,
        level=level,
        caller=_caller(ticket, call, patient),
        practice_id=ticket.practice_id,
        practice_name=practice.name if practice else "",
        practitioner_name=_practitioner_name(practitioner),
        reason=_reason(ticket, rules, triages, ordered),
        rules=rules,
        actions=actions,
        transcript=[TranscriptLine(seq=t.seq, speaker=t.speaker, text=t.text, at=t.at) for t in ordered],
        callback_due=ticket.callback_due,
    )
    summary.next_step = suggest_next_step(summary, clinical=any(t.get("clinical_question") for t in triages))
    return summary


def polish_summary(summary: HandoffSummary, polisher: SummaryPolisher | None) -> HandoffSummary:
    """Let a configured LLM reword `reason` and `next_step`; the facts stay; any failure keeps the original."""
    if polisher is None:
        return summary
    try:
        polished = polisher.polish(summary.model_copy(deep=True))
    except Exception:
        log.warning("summary polisher failed; deterministic summary kept", extra={"ticket": summary.ticket_id})
        return summary
    reason = polished.reason.strip()[:REASON_MAX] or summary.reason
    next_step = polished.next_step.strip() or summary.next_step
    return summary.model_copy(update={"reason": reason, "next_step": next_step, "source": "llm"})


def suggest_next_step(summary: HandoffSummary, *, clinical: bool = False) -> str:
    """What the secretary should do first, from the level, the kind of ticket and what was already done."""
    if summary.level == "emergency":
        return ("Urgence vitale possible : vérifier que l'appelant a appelé le 15 (SAMU) ou l'y transférer "
                "immédiatement ; ne pas raccrocher avant d'être sûre qu'il est pris en charge.")
    if summary.kind == "callback":
        number = summary.caller.number or "l'appelant"
        due = f" avant {summary.callback_due:%d/%m à %H:%M}" if summary.callback_due else ""
        return f"Rappeler {number}{due} : {summary.reason or 'reprendre sa demande'}."
    if summary.level == "urgent":
        return ("Appel urgent : faire préciser les symptômes, proposer un rendez-vous aujourd'hui ou un avis "
                "médical rapide ; en dehors des heures d'ouverture, orienter vers le 116 117.")
    kinds = {a.kind for a in summary.actions}
    if clinical:
        return "Question médicale : la transmettre au praticien ou proposer une consultation."
    if "slots_offered" in kinds and not kinds & {"appointment_booked", "appointment_rescheduled"}:
        return "Des créneaux ont déjà été proposés : finaliser la prise de rendez-vous avec l'appelant."
    return f"Reprendre la demande de l'appelant : {summary.reason or 'la faire préciser'}."


# --- pieces -----------------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _max_level(levels: Iterable[str]) -> str:
    known = [lv for lv in levels if lv in LEVEL_ORDER]
    return max(known, key=LEVEL_ORDER.__getitem__) if known else "routine"


def _rules(triages: Sequence[dict[str, Any]]) -> list[RuleFired]:
    seen: dict[str, RuleFired] = {}
    for triage in triages:
        for raw in _list(triage.get("rules")):
            if isinstance(raw, dict) and raw.get("id") and raw["id"] not in seen:
                seen[raw["id"]] = RuleFired(id=str(raw["id"]), label=str(raw.get("label", "")),
                                            level=str(raw.get("level", "routine")),
                                            evidence=str(raw.get("evidence", "")))
    return sorted(seen.values(), key=lambda r: -LEVEL_ORDER.get(r.level, 0))


def _caller(ticket: Ticket, call: Call | None, patient: Patient | None) -> CallerInfo:
    raw = ticket.summary.get("caller")
    given: dict[str, Any] = raw if isinstance(raw, dict) else {}
    number = (call.caller_number if call else "") or ticket.caller_number
    if patient is not None:
        name = f"{patient.first_name} {patient.last_name}".strip()
        return CallerInfo(name=name, number=display_phone(number or patient.phone), birth_date=patient.birth_date)
    birth_date = _date(given.get("birth_date"))
    return CallerInfo(name=str(given.get("name", "")), number=display_phone(number), birth_date=birth_date)


def display_phone(number: str) -> str:
    """A number as a secretary dials it: '+33612345678' → '06 12 34 56 78'."""
    if not number:
        return ""
    national = national_format(number)
    if len(national) == 10 and national.isdigit():
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return national


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _practitioner_name(practitioner: Practitioner | None) -> str:
    if practitioner is None:
        return ""
    return f"{practitioner.title} {practitioner.first_name} {practitioner.last_name}".strip()


def _reason(ticket: Ticket, rules: list[RuleFired], triages: Sequence[dict[str, Any]], turns: Sequence[Turn]) -> str:
    if ticket.reason:
        return _one_line(ticket.reason)
    if rules and rules[0].label:
        return _one_line(rules[0].label)
    intents = [str(t.get("intent")) for t in triages if t.get("intent") in INTENT_FR and t.get("intent") != "other"]
    if intents:
        return INTENT_FR[intents[0]]
    first = next((t.text for t in turns if t.speaker == "caller" and t.text.strip()), "")
    return _one_line(first) if first else "Motif non précisé"


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= REASON_MAX else flat[: REASON_MAX - 1].rstrip() + "…"


def _actions(raws: Iterable[Any]) -> list[AgentAction]:
    actions: list[AgentAction] = []
    for raw in raws:
        if not isinstance(raw, dict) or raw.get("kind") not in ACTION_KINDS:
            continue
        data = {k: v for k, v in raw.items() if k != "kind"}
        action = AgentAction(kind=str(raw["kind"]), text=_action_text(str(raw["kind"]), data), data=data)
        if action not in actions:
            actions.append(action)
    return actions


def _action_text(kind: str, data: dict[str, Any]) -> str:
    who = f" avec {data['practitioner']}" if data.get("practitioner") else ""
    if kind == "slots_offered":
        slots = ", ".join(_when(s) for s in _list(data.get("slots"))) or "aucun"
        return f"Créneaux proposés{who} : {slots}"
    if kind in APPOINTMENT_FR:
        return f"{APPOINTMENT_FR[kind]}{who} : {_when(data.get('starts_at'))}"
    if kind == "message_taken":
        return f"Message pris : {_one_line(str(data.get('text', '')))}"
    return f"Information donnée : {data.get('topic', '')}".rstrip(" :")


def _when(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "?")
    return f"{moment:%d/%m/%Y à %H:%M}"


def _text_lines(s: HandoffSummary) -> list[str]:
    caller = ", ".join(p for p in (s.caller.name or "Nom non donné", s.caller.number,
                                   f"né(e) le {s.caller.birth_date:%d/%m/%Y}" if s.caller.birth_date else "") if p)
    where = s.practice_name or "Cabinet non identifié"
    lines = [f"Appel transmis — {LEVEL_FR.get(s.level, s.level)}", f"Appelant : {caller}",
             f"Cabinet : {where}" + (f" — praticien : {s.practitioner_name}" if s.practitioner_name else ""),
             f"Motif : {s.reason}"]
    if s.rules:
        lines.append("Signaux d'alerte :")
        lines += [f"  - {r.label or r.id} ({LEVEL_FR.get(r.level, r.level)}) : « {r.evidence} »" for r in s.rules]
    lines.append("Déjà fait par l'agent :" if s.actions else "Déjà fait par l'agent : rien")
    lines += [f"  - {a.text}" for a in s.actions]
    lines.append(f"À faire : {s.next_step}")
    if s.transcript:
        lines.append("Transcription :")
        lines += [f"  {SPEAKER_FR.get(t.speaker, t.speaker)} : {t.text}" for t in s.transcript]
    return lines
