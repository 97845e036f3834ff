"""What each reception tool does, as plain synchronous functions over a `CallContext` (tested directly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from livekit.agents.llm import ToolError

from agent.tools.context import CallContext
from agent.tools.practice_profile import after_hours_text, hours_text
from agent.tools.slots import chosen, refreshed_offer, services_text
from agent.tools.speech import say, spoken_list, spoken_moment
from escalation.ticket_store import TicketSpec
from practice.calendar_types import AppointmentInfo
from practice.errors import AppointmentNotActive, CalendarError, InvalidRequest, SlotTaken, SlotUnavailable

# --- booking -------------------------------------------------------------------------------------------


def book(ctx: CallContext, slot_number: int, last_name: str, first_name: str, born: date, reason: str) -> str:
    slot = chosen(ctx, slot_number)
    if not last_name.strip():
        raise ToolError(say("ask_name", ctx.lang))
    patient = ctx.calendar.find_or_create_patient(ctx.practice_id, last_name=last_name.strip(),
                                                  first_name=first_name.strip(), birth_date=born,
                                                  phone=ctx.caller_number)
    ctx.caller.first_name, ctx.caller.last_name, ctx.caller.birth_date = first_name, last_name, born
    try:
        info = ctx.calendar.book(ctx.practice_id, practitioner_id=slot.practitioner_id, patient_id=patient.id,
                                 starts_at=slot.starts_at, consultation_type_id=slot.consultation_type_id,
                                 reason=reason[:300], call_id=ctx.call_id, now=ctx.now())
    except SlotUnavailable as exc:  # taken meanwhile (or no longer on the grid): offer the next ones
        raise ToolError(refreshed_offer(ctx, slot)) from exc
    except CalendarError as exc:
        raise ToolError(say("tool_failed", ctx.lang)) from exc
    ctx.appointment = info
    ctx.record("booked", _action("appointment_booked", info))
    return say("booked", ctx.lang, when=spoken_moment(info.starts_at, ctx.lang), practitioner=info.practitioner_name)


# --- existing appointments -----------------------------------------------------------------------------


def find_appointments(ctx: CallContext, last_name: str | None, born: date | None) -> str:
    if not (last_name or born):
        raise ToolError(say("ask_appointment_name", ctx.lang))
    if last_name:
        ctx.caller.last_name = last_name
    if born:
        ctx.caller.birth_date = born
    try:
        found = ctx.calendar.find_patient_appointments(ctx.practice_id, phone=ctx.caller_number,
                                                       last_name=last_name or None, birth_date=born, now=ctx.now())
    except CalendarError as exc:
        raise ToolError(say("tool_failed", ctx.lang)) from exc
    ctx.found = found[:3]
    for info in ctx.found:
        ctx.record("", _action("appointment_found", info))
    if not ctx.found:
        return say("appointments_none", ctx.lang)
    if len(ctx.found) == 1:
        return say("appointment_one", ctx.lang, **_spoken(ctx.found[0], ctx.lang))
    items = [f"{i}) {say('slot_item', ctx.lang, **_spoken(a, ctx.lang))}" for i, a in enumerate(ctx.found, 1)]
    return say("appointment_many", ctx.lang, count=len(found), items=spoken_list(items, ctx.lang))


def _found(ctx: CallContext, number: int) -> AppointmentInfo:
    if not 1 <= number <= len(ctx.found):
        raise ToolError(say("appointment_unknown", ctx.lang))
    return ctx.found[number - 1]


def cancel(ctx: CallContext, number: int) -> str:
    target = _found(ctx, number)
    info = _change(ctx, lambda: ctx.calendar.cancel(ctx.practice_id, appointment_id=target.id, now=ctx.now()))
    ctx.appointment = info
    ctx.record("cancelled", _action("appointment_cancelled", info))
    return say("cancelled", ctx.lang, **_spoken(info, ctx.lang))


def confirm(ctx: CallContext, number: int) -> str:
    target = _found(ctx, number)
    info = _change(ctx, lambda: ctx.calendar.confirm(ctx.practice_id, appointment_id=target.id))
    ctx.appointment = info
    ctx.record("confirmed", _action("appointment_confirmed", info))
    return say("confirmed", ctx.lang, **_spoken(info, ctx.lang))


def reschedule(ctx: CallContext, number: int, slot_number: int) -> str:
    target, slot = _found(ctx, number), chosen(ctx, slot_number)
    try:
        info = ctx.calendar.reschedule(ctx.practice_id, appointment_id=target.id, starts_at=slot.starts_at,
                                       practitioner_id=slot.practitioner_id, call_id=ctx.call_id, now=ctx.now())
    except SlotTaken as exc:
        raise ToolError(refreshed_offer(ctx, slot)) from exc
    except (AppointmentNotActive, InvalidRequest) as exc:
        raise ToolError(say("appointment_gone", ctx.lang)) from exc
    except CalendarError as exc:
        raise ToolError(say("tool_failed", ctx.lang)) from exc
    ctx.appointment = info
    ctx.record("rescheduled", _action("appointment_rescheduled", info))
    return say("rescheduled", ctx.lang, **_spoken(info, ctx.lang))


def _change(ctx: CallContext, operation: Any) -> AppointmentInfo:
    try:
        info: AppointmentInfo = operation()
    except AppointmentNotActive as exc:
        raise ToolError(say("appointment_gone", ctx.lang)) from exc
    except InvalidRequest as exc:
        raise ToolError(say("appointment_past", ctx.lang)) from exc
    except CalendarError as exc:
        raise ToolError(say("tool_failed", ctx.lang)) from exc
    return info


def _spoken(info: AppointmentInfo, lang: str) -> dict[str, str]:
    return {"when": spoken_moment(info.starts_at, lang), "practitioner": info.practitioner_name}


def _action(kind: str, info: AppointmentInfo) -> dict[str, Any]:
    return {"kind": kind, "starts_at": info.starts_at.isoformat(), "practitioner": info.practitioner_name,
            "appointment_id": info.id}


# --- information ---------------------------------------------------------------------------------------


def practice_info(ctx: CallContext, topic: str) -> str:
    p, lang = ctx.practice, ctx.lang
    texts = {
        "hours": lambda: say("info_hours", lang, hours=hours_text(p, lang)) if p.opening else "",
        "address": lambda: say("info_address", lang, address=p.address, postcode=p.postcode, city=p.city)
        if p.address else "",
        "access": lambda: say("info_access", lang, access=p.access_info) if p.access_info else "",
        "what_to_bring": lambda: say("info_what_to_bring", lang, items=p.what_to_bring) if p.what_to_bring else "",
        "phone": lambda: say("info_phone", lang, phone=p.phone) if p.phone else "",
        "services": lambda: say("info_services", lang, practitioners=services_text(ctx)),
        "after_hours": lambda: after_hours_text(p, p.status(ctx.now()), lang),
    }
    text = texts.get(topic, lambda: "")()
    if not text:
        return say("info_missing", lang)
    ctx.record("informed", {"kind": "info_given", "topic": topic})
    return text


# --- tickets ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageNote:
    """A message for a practitioner or the front desk, as the caller asked it."""

    subject: str
    text: str
    last_name: str
    first_name: str = ""
    birth_date: date | None = None
    practitioner: str | None = None


def leave_message(ctx: CallContext, note: MessageNote) -> str:
    if not note.last_name.strip():
        raise ToolError(say("message_ask_name", ctx.lang))
    record = _practitioner(ctx, note.practitioner)
    ctx.caller.first_name = note.first_name or ctx.caller.first_name
    ctx.caller.last_name, ctx.caller.birth_date = note.last_name, note.birth_date or ctx.caller.birth_date
    subject = note.subject if note.subject in ("prescription", "results", "certificate") else "other"
    action = {"kind": "message_taken", "text": note.text, "subject": subject}
    ctx.record("message", action)
    summary = _summary(ctx, intent="prescription" if subject == "prescription" else "message",
                       message={"subject": subject, "text": note.text,
                                "practitioner": record[1] if record else ""})
    reason = f"Message ({say('subject_' + subject, 'fr')})" + (f" pour {record[1]}" if record else "")
    _enqueue(ctx, TicketSpec(id=ctx.call_id, practice_id=ctx.practice_id, kind="message", level="routine",
                             reason=reason, caller_number=ctx.caller_number,
                             practitioner_id=record[0] if record else None, summary=summary))
    recipient = record[1] if record else say("message_team", ctx.lang)
    return say("message_taken", ctx.lang, recipient=recipient)


def _practitioner(ctx: CallContext, name: str | None) -> tuple[int, str] | None:
    if not name:
        return None
    try:
        best = ctx.calendar.resolve_practitioner(ctx.practice_id, name).best
    except CalendarError:
        return None
    return (best.record.id, best.record.display_name) if best and best.reason != "profession" else None


def request_human(ctx: CallContext, reason: str, level: str) -> str:
    """A handoff ticket while the practice is open; a callback ticket when it is closed. Says the holding line."""
    level = level if level in ("routine", "urgent", "emergency") else "routine"
    status = ctx.practice.status(ctx.now())
    kind = "handoff" if status.open or level == "emergency" else "callback"
    _enqueue(ctx, TicketSpec(id=ctx.call_id, practice_id=ctx.practice_id, kind=kind, level=level,
                             reason=reason[:300], caller_number=ctx.caller_number,
                             summary=_summary(ctx, intent="human")))
    ctx.record("escalated")
    if level == "emergency":
        return say("emergency_15", ctx.lang)
    if kind == "callback":
        reopens = spoken_moment(status.reopens, ctx.lang) if status.reopens else "?"
        return say("handoff_closed", ctx.lang, reopens=reopens)
    return say("urgent_handoff" if level == "urgent" else "handoff_routine", ctx.lang)


def _summary(ctx: CallContext, *, intent: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
    caller: dict[str, Any] = {"name": ctx.caller.full_name}
    if ctx.caller.birth_date:
        caller["birth_date"] = ctx.caller.birth_date.isoformat()
    summary: dict[str, Any] = {"caller": caller, "actions": list(ctx.actions), "intent": intent,
                               "language": ctx.lang}
    if message is not None:
        summary["message"] = message
    return summary


def _enqueue(ctx: CallContext, spec: TicketSpec) -> None:
    ctx.tickets.enqueue(spec)
    ctx.ticket = {"id": spec.id, "kind": spec.kind, "level": spec.level, "reason": spec.reason}
