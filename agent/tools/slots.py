"""Slot search for the reception tools: tool arguments to calendar constraints, and offers as sentences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time

from livekit.agents.llm import ToolError

from agent.tools.context import CallContext
from agent.tools.speech import say, spoken_list, spoken_moment
from practice.calendar_types import Slot, SlotConstraints
from practice.directory import PractitionerRecord, detect_professions, record_professions
from practice.errors import AmbiguousPractitioner, CalendarError, InvalidRequest, UnknownPractitioner, UnknownProfession

OFFER = 3
# Professions a caller may ask for, in English (the directory's keys are French).
_ENGLISH = {"dermatologue": "dermatologist", "cardiologue": "cardiologist", "ophtalmologue": "ophthalmologist",
            "gynecologue": "gynaecologist", "dentiste": "dentist", "psychologue": "psychologist",
            "psychiatre": "psychiatrist", "orthophoniste": "speech therapist", "podologue": "podiatrist",
            "dieteticien": "dietitian", "osteopathe": "osteopath", "orthoptiste": "orthoptist"}
_PARTS = {"morning": "morning", "afternoon": "afternoon", "evening": "evening", "matin": "morning",
          "apres-midi": "afternoon", "après-midi": "afternoon", "soir": "evening"}


def constraints(
    *, day: str | None = None, date_from: str | None = None, date_to: str | None = None,
    part_of_day: str | None = None, not_before: str | None = None, not_after: str | None = None,
    weekdays: Sequence[int] = (), excluded_weekdays: Sequence[int] = (), excluded_dates: Sequence[str] = (),
) -> SlotConstraints:
    """Tool arguments (ISO dates, HH:MM times, 0 = Monday) as calendar constraints; bad values are a ToolError."""
    try:
        return SlotConstraints(
            day=_date(day), date_from=_date(date_from), date_to=_date(date_to),
            part_of_day=_PARTS.get((part_of_day or "").lower()) if part_of_day else None,  # type: ignore[arg-type]
            not_before=_time(not_before), not_after=_time(not_after), weekdays=frozenset(weekdays),
            excluded_weekdays=frozenset(excluded_weekdays),
            excluded_days=frozenset(d for d in (_date(x) for x in excluded_dates) if d),
        )
    except (ValueError, InvalidRequest) as exc:
        raise ToolError(f"invalid search arguments: {exc}") from exc


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def search(ctx: CallContext, practitioner: str | int | None, specialty: str | None, wanted: SlotConstraints) -> str:
    """Find up to three slots; none at the asked time -> the next ones. Remembers them as `ctx.offered`."""
    slots = _find(ctx, practitioner, specialty, wanted)
    relaxed = not slots and wanted != SlotConstraints()
    if relaxed:
        slots = _find(ctx, practitioner, specialty, _keep_exclusions(wanted))
    ctx.offered = slots
    ctx.last_search = (practitioner, specialty, wanted)
    if not slots:
        return say("slots_none", ctx.lang)
    ctx.record("", {"kind": "slots_offered", "slots": [s.starts_at.isoformat() for s in slots],
                    "practitioner": slots[0].practitioner_name})
    text = offer_text(slots, ctx.lang)
    return f"{say('slots_relaxed', ctx.lang)} {text}" if relaxed else text


def _keep_exclusions(wanted: SlotConstraints) -> SlotConstraints:
    return SlotConstraints(excluded_weekdays=wanted.excluded_weekdays, excluded_days=wanted.excluded_days)


def _find(
    ctx: CallContext, practitioner: str | int | None, specialty: str | None, wanted: SlotConstraints
) -> list[Slot]:
    try:
        return ctx.calendar.find_slots(ctx.practice_id, practitioner=practitioner or None,
                                       profession=specialty or None, constraints=wanted, limit=OFFER, now=ctx.now())
    except AmbiguousPractitioner as exc:
        names = [r.display_name for r in ctx.calendar.practitioners(ctx.practice_id) if r.id in exc.candidates]
        raise ToolError(say("ambiguous_practitioner", ctx.lang, choices=spoken_list(names, ctx.lang))) from exc
    except UnknownProfession as exc:
        asked = _ENGLISH.get(specialty or "", specialty or "") if ctx.lang == "en" else specialty or ""
        raise ToolError(say("unknown_profession", ctx.lang, asked=asked, offer=services_text(ctx))) from exc
    except UnknownPractitioner as exc:
        raise ToolError(say("unknown_practitioner", ctx.lang, offer=services_text(ctx))) from exc
    except CalendarError as exc:
        raise ToolError(say("tool_failed", ctx.lang)) from exc


def offer_text(slots: Sequence[Slot], lang: str) -> str:
    """"mardi 25 novembre à 9 h avec Dr Claire Martin, ... ou ..." and the question."""
    same = len({s.practitioner_id for s in slots}) == 1 and len(slots) > 1
    items = [slot_text(s, lang) if not same or i == len(slots) - 1 else say("slot_item_same", lang,
                                                                             when=spoken_moment(s.starts_at, lang))
             for i, s in enumerate(slots)]
    return say("slots_offer" if len(slots) > 1 else "slots_offer_one", lang, slots=spoken_list(items, lang))


def slot_text(slot: Slot, lang: str) -> str:
    return say("slot_item", lang, when=spoken_moment(slot.starts_at, lang), practitioner=slot.practitioner_name)


def services_text(ctx: CallContext) -> str:
    """"médecins généralistes : Dr Claire Martin, ...; une pédiatre : Dr Sophie Nguyen, ..."."""
    groups: dict[str, list[str]] = {}
    for record in ctx.calendar.practitioners(ctx.practice_id):
        if record.active:
            groups.setdefault(_profession_key(record), []).append(record.display_name)
    parts = [say("practitioner_group", ctx.lang, label=_label(key, ctx.lang), names=", ".join(names))
             for key, names in groups.items()]
    return "; ".join(parts)


def _profession_key(record: PractitionerRecord) -> str:
    keys = sorted(record_professions(record)) or list(detect_professions(record.profession))
    return keys[0] if keys else record.profession


def _label(key: str, lang: str) -> str:
    try:
        return say(f"profession_{key}", lang)
    except LookupError:
        return key


def chosen(ctx: CallContext, slot_number: int) -> Slot:
    if not 1 <= slot_number <= len(ctx.offered):
        raise ToolError(say("slot_unknown", ctx.lang))
    return ctx.offered[slot_number - 1]


def refreshed_offer(ctx: CallContext, taken: Slot) -> str:
    """The slot was just taken: search again with the same request and offer what is left."""
    practitioner, specialty, wanted = ctx.last_search or (taken.practitioner_id, None, SlotConstraints())
    return f"{say('slot_taken', ctx.lang)} {search(ctx, practitioner, specialty, wanted)}"
