"""The conversation: routes each caller turn to the flow of the current step or task, and each tool result
to the flow's next question. Escalation (triage guard, call monitor) is checked on every caller turn."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from agent.dialog.entities import is_goodbye, is_repeat_request
from agent.dialog.flows import booking, manage, message
from agent.dialog.flows.nlu import Reader
from agent.dialog.flows.state import DialogState, Step, looks_english
from agent.dialog.flows.turn import Turn
from agent.dialog.intent_rules import rule_topic
from agent.dialog.intents import IntentClassifier
from agent.tools.context import CallContext
from agent.triage_guard import GuardResult, handoff_reason
from escalation.triggers import CallMonitor, TurnSignal

log = logging.getLogger(__name__)
Guard = Callable[[str, object], GuardResult]
Handler = Callable[[DialogState, Turn], "Step | None"]
INFO_TOPICS = ("hours", "address", "access", "what_to_bring", "phone", "services", "after_hours")

_ANSWERS: dict[str, Handler] = {
    "choose_slot": booking.choose,
    "ask_when": lambda s, t: booking.refine(s, t) or (booking.search(s) if t.yes else None),
    "ask_change": booking.correct,
    "ask_name": booking.take_name,
    "ask_birth_date": booking.take_birth_date,
    "confirm_booking": booking.confirm,
    "ask_manage_name": manage.take_name,
    "ask_dob_find": manage.take_birth_date,
    "choose_appointment": manage.choose_appointment,
    "confirm_manage": manage.confirm,
    "ask_reschedule_when": manage.ask_when,
    "confirm_reschedule": manage.confirm_reschedule,
    "ask_message_text": message.take_text,
    "ask_message_name": message.take_name,
    "ask_message_dob": message.take_birth_date,
    "confirm_message": message.confirm,
}
# Steps whose answer is free text (a name, a message): a new task is only looked for when the flow fails.
_FREE_TEXT = frozenset({"ask_name", "ask_manage_name", "ask_message_text", "ask_message_name", "ask_birth_date",
                        "ask_message_dob", "ask_dob_find"})
# What livekit puts in a tool's output when the tool raised something other than a ToolError.
_INTERNAL_ERRORS = ("An internal error occurred", "Error parsing arguments", "the tool returned an invalid output")
_TASK_WORDS = frozenset({"book", "cancel", "reschedule", "confirm", "prescription", "message", "info", "human"})


class Conversation:
    """One call's dialog: `on_user(text)` and `on_tool_output(name, output, is_error)` return the next step."""

    def __init__(
        self, *, ctx: CallContext, classifier: IntentClassifier, reader: Reader, monitor: CallMonitor, guard: Guard,
    ) -> None:
        self.state = DialogState(ctx)
        self.classifier, self.reader, self.monitor, self.guard = classifier, reader, monitor, guard

    # --- caller turns ------------------------------------------------------------------------------

    def on_user(self, text: str) -> Step:
        state = self.state
        state.caller_turns += 1
        if not text.strip():
            return Step(state.say("no_input"))
        guarded = self._guard(text)
        if guarded is not None:
            return guarded
        self._settle_language(text)
        if is_repeat_request(text) and state.last_said:
            return Step(state.last_said)
        if state.step == "handed_over":
            return Step(state.say("handoff_routine"))
        if is_goodbye(text) and state.step not in ("confirm_booking", "confirm_manage", "confirm_message"):
            state.ended = True
            return state.ask("ended", "goodbye")
        turn = Turn(text, self.classifier.classify(text), self.reader, state.ctx.local_now(), state.lang)
        step = self._dispatch(turn)
        return self._monitor(turn, step)

    def _guard(self, text: str) -> Step | None:
        """The triage guard (skipped when the voice path already ran it on this very text)."""
        ctx = self.state.ctx
        if ctx.guarded_text == text:
            return None
        result = self.guard(text, self.state.triage_context)
        self.state.triage_context = result.context
        if not result.stops_dialog:
            return None
        return self._handoff(handoff_reason(result), result.level)

    def _handoff(self, reason: str, level: str) -> Step:
        self.state.step = "handed_over"
        return self.state.call("request_human", reason=reason, level=level)

    def _settle_language(self, text: str) -> None:
        state = self.state
        if not state.language_settled and state.caller_turns <= 2 and looks_english(text):
            state.ctx.lang = "en"
            state.language_settled = True
        elif state.caller_turns >= 2:
            state.language_settled = True

    def _dispatch(self, turn: Turn) -> Step | None:
        state = self.state
        handler = _ANSWERS.get(state.step)
        switching = turn.task in _TASK_WORDS and turn.intent.confidence >= 0.9 and state.step not in _FREE_TEXT
        if handler is not None and not (switching and turn.task != state.task and turn.task != "book"):
            step = handler(state, turn)
            if step is not None:
                return step
        if state.step == "anything_else" and (turn.no or turn.task == "no"):
            state.ended = True
            return state.ask("ended", "goodbye")
        if state.step == "anything_else" and turn.yes and turn.task not in _TASK_WORDS:
            return state.ask("start", "listening")
        if state.step == "offer_message" and turn.yes:
            return message.start(state, turn)
        return self._route(turn)

    def _route(self, turn: Turn) -> Step | None:
        state, task = self.state, turn.task
        practitioner, specialty = turn.who
        if task in manage.TASKS and turn.intent.confidence < 0.6 and (practitioner or specialty):
            task = "book"  # "rendez-vous mardi avec le docteur X" is a booking, whatever the embedding says
        if task in ("book", "other") and rule_topic(turn.text) == "what_to_bring" and not (practitioner or specialty):
            return self._info(turn)  # "que faut-il apporter pour un premier rendez-vous ?"
        if task in manage.TASKS:
            return manage.start(state, turn)
        if task in ("prescription", "message"):
            return message.start(state, turn)
        if task == "info":
            return self._info(turn)
        if task == "human":
            return self._handoff("Le patient demande à parler à une personne.", "routine")
        if task in ("book", "symptom") or practitioner or specialty:
            return booking.start(state, turn)
        return None

    def _info(self, turn: Turn) -> Step:
        topic = turn.intent.topic or rule_topic(turn.text) or "hours"
        if topic not in INFO_TOPICS:
            topic = "hours"
        return self.state.call("practice_info", topic=topic)

    def _monitor(self, turn: Turn, step: Step | None) -> Step:
        state = self.state
        understood = step is not None and step.understood
        signal = TurnSignal(text=turn.text, intent=turn.task if turn.task != "other" else "other")
        escalation = self.monitor.on_turn(signal, understood=understood)
        if escalation is not None and not self._handled_by_flow(escalation.trigger, turn):
            if escalation.trigger == "clinical_question" and escalation.action == "callback":
                return message.start(state, turn, preface=state.say("clinical_callback"))
            reason = escalation.reason
            return self._handoff(reason, escalation.level)
        if step is None:
            return Step(self._reprompt(), understood=False)
        return step

    def _handled_by_flow(self, trigger: str, turn: Turn) -> bool:
        """A results or prescription message is the message flow's business, not a clinical hand-off."""
        return trigger == "clinical_question" and self.state.task == "message"

    def _reprompt(self) -> str:
        state = self.state
        if state.step in _ANSWERS and state.last_said:
            return state.say("not_understood_step", question=state.last_said)
        return state.say("not_understood")

    # --- tool results --------------------------------------------------------------------------------

    def on_tool_output(self, name: str, output: str, is_error: bool) -> Step:
        state = self.state
        state.pending = None
        if is_error and (output.startswith(_INTERNAL_ERRORS) or output == state.say("tool_failed")):
            return self._failed(name)
        follow = _AFTER.get(name)
        text = follow(state, output, is_error) if follow else output
        return Step(text)

    def _failed(self, name: str) -> Step:
        """A tool broke (database, queue): a person takes over; if the hand-off itself failed, the fallback line."""
        if name == "request_human":
            self.state.step = "handed_over"
            return Step(self.state.say("technical_fallback"))
        step = self._handoff(f"Panne technique : l'outil {name} a échoué.", "routine")
        return Step(f"{self.state.say('tool_failed')}", step.call)

    def remember(self, said: str) -> None:
        if said:
            self.state.last_said = said


def _after_slots(state: DialogState, output: str, is_error: bool) -> str:
    if state.ctx.offered:
        state.step = "choose_slot"
    elif is_error:
        state.step = "ask_when"
        state.practitioner = state.specialty = None
    else:
        state.step = "anything_else"
    return output


def _after_booking(state: DialogState, output: str, is_error: bool) -> str:
    state.step = "choose_slot" if is_error and state.ctx.offered else "anything_else"
    if not is_error:
        state.task = None
        state.forget_booking()
    return output


def _after_change(state: DialogState, output: str, is_error: bool) -> str:
    if is_error and state.task == "reschedule" and state.ctx.offered:
        state.step = "choose_slot"
        return output
    state.step, state.task = "anything_else", None
    return output


def _after_info(state: DialogState, output: str, is_error: bool) -> str:
    state.step = "anything_else"
    return f"{output} {state.say('anything_else')}"


def _after_message(state: DialogState, output: str, is_error: bool) -> str:
    state.step, state.task = ("anything_else", None) if not is_error else ("ask_message_name", "message")
    return output


def _after_found(state: DialogState, output: str, is_error: bool) -> str:
    return manage.after_found(state, output)


def _after_human(state: DialogState, output: str, is_error: bool) -> str:
    state.step = "handed_over"
    return output


_AFTER: dict[str, Callable[[DialogState, str, bool], str]] = {
    "find_slots": _after_slots,
    "book_appointment": _after_booking,
    "find_appointments": _after_found,
    "cancel_appointment": _after_change,
    "confirm_appointment": _after_change,
    "reschedule_appointment": _after_change,
    "practice_info": _after_info,
    "leave_message": _after_message,
    "request_human": _after_human,
}


def reference_time(ctx: CallContext) -> datetime:
    return ctx.local_now()
