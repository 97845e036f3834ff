"""One call's hand-off to a secretary: audio bridge both ways, agent muted but transcribing, wait and callback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from livekit import rtc
from livekit.agents import Agent, AgentSession, llm, stt

import prompts
from agent.audio import mulaw_decode
from agent.call_state import CallState
from agent.transports.media_stream import FRAME_BYTES, MULAW_RATE, media_message
from agent.triage_guard import GuardResult, guard_turn

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
HOLD_TONE_EVERY_S = 4.0


class SecretarySocket(Protocol):
    """The secretary's side of the bridge (the console adapts its WebSocket to this)."""

    async def receive(self) -> str | bytes | None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True)
class HandoffPolicy:
    """What the hand-off asks the outside world (the composition root binds the queue and thresholds)."""

    wait_seconds: Callable[[int | None], float] = lambda _practice: 60.0
    secretaries_present: Callable[[int | None], bool] = lambda _practice: True
    ticket_status: Callable[[str], str | None] = lambda _ticket: None
    to_callback: Callable[[str, datetime, str], None] = lambda _ticket, _due, _number: None
    after_hours: Callable[[int | None], dict[str, Any]] = lambda _practice: {}
    abandon: Callable[[str], None] = lambda _ticket: None
    answer_timeout_s: float = 15.0


class HandoffError(Exception):
    """The call cannot be bridged now (`code` is stable for the console)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Ticket:
    id: str
    kind: str
    level: str


class ListeningAgent(Agent):
    """The agent while a human has the call: it says nothing, records every caller turn and passes it on."""

    def __init__(self, on_caller: Callable[[str, float | None], None], lang: str) -> None:
        super().__init__(instructions=prompts.text("instructions", lang))
        self._on_caller = on_caller

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        self._on_caller(new_message.text_content or "", new_message.transcript_confidence)
        raise llm.StopResponse()


class CallbackAgent(Agent):
    """Nobody picked up: offers a callback (best time) or a message, gives the right numbers, then ends."""

    def __init__(self, handoff: CallHandoff, offer: str) -> None:
        super().__init__(instructions=prompts.text("instructions", handoff.lang))
        self._handoff = handoff
        self._offer = offer

    async def on_enter(self) -> None:
        self.session.say(self._offer, allow_interruptions=False)
        self._handoff.expect_answer()

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        await self._handoff.callback_answer(new_message.text_content or "", new_message.transcript_confidence)
        raise llm.StopResponse()


@dataclass
class CallHandoff:
    """The hand-off handles of one live media-stream call, registered with the process's `LiveCallRegistry`."""

    call: CallState
    session: AgentSession[None]
    send: SendText
    clear_output: Callable[[], None]
    hangup: asyncio.Event
    make_stt: Callable[[str], stt.STT[Any]]
    vad: Any
    triage: Any
    policy: HandoffPolicy = field(default_factory=HandoffPolicy)
    parse_when: Callable[[str, datetime, str], datetime | None] | None = None
    on_detach: Callable[[str], None] | None = None
    ticket: _Ticket | None = None
    secretary_id: int | None = None
    on_hold: bool = False
    ended: bool = False
    frames_to_caller: int = 0
    frames_to_secretary: int = 0
    _socket: SecretarySocket | None = None
    loop: asyncio.AbstractEventLoop | None = None
    _wait_task: asyncio.Task[None] | None = None
    _answer_task: asyncio.Task[None] | None = None
    _stt_stream: Any = None
    _stt_task: asyncio.Task[None] | None = None
    _hold_task: asyncio.Task[None] | None = None
    _outbox: asyncio.Queue[bytes | str | None] | None = None
    _callback_done: bool = False

    def __post_init__(self) -> None:
        self.loop = asyncio.get_running_loop()

    @property
    def call_id(self) -> str:
        return self.call.call_id

    @property
    def lang(self) -> str:
        return self.call.language

    @property
    def practice_id(self) -> int | None:
        return self.call.practice.id if self.call.practice else None

    @property
    def human_on_line(self) -> bool:
        """A secretary is bridged, or the caller waits for one: the agent's silence prompts stay quiet."""
        return self._socket is not None or (self.ticket is not None and not self._callback_done)

    # -- the ticket (called from the enqueueing thread) -------------------------------------------------

    def ticket_enqueued(self, ticket_id: str, kind: str, level: str) -> None:
        if self.loop is None or kind not in ("handoff", "callback"):
            return
        self.loop.call_soon_threadsafe(self._start_wait, _Ticket(ticket_id, kind, level))

    def _start_wait(self, ticket: _Ticket) -> None:
        if self.ticket is not None or self.ended:
            return
        self.ticket = ticket
        self._wait_task = asyncio.create_task(self._wait_for_secretary(), name="handoff-wait")

    async def _wait_for_secretary(self) -> None:
        """After the holding line: wait for a pick-up; nobody (or after hours, nobody present): the agent is back."""
        assert self.ticket is not None
        present = await self._ask(self.policy.secretaries_present, self.practice_id, default=True)
        if self.ticket.kind == "callback" or not present:
            await self._after_holding_line()
        else:
            wait = await self._ask(self.policy.wait_seconds, self.practice_id, default=60.0)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                await asyncio.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
                if self._socket is not None:
                    return
            status = await self._ask(self.policy.ticket_status, self.ticket.id, default=None)
            if self._socket is not None or status in ("connected", "closed"):
                return
            if status == "claimed":  # she is reading the summary: give her one more wait
                await asyncio.sleep(wait)
                if self._socket is not None:
                    return
        if self.ended or self._socket is not None:
            return
        log.info("no secretary picked up; offering a callback", extra={"call_id": self.call_id})
        await self._offer_callback()

    async def _ask(self, question: Callable[[Any], Any], arg: Any, *, default: Any) -> Any:
        """A policy answer off the event loop; the default when Redis or the database fails (logged by type)."""
        try:
            return await asyncio.to_thread(question, arg)
        except Exception as exc:
            log.warning("hand-off policy unavailable", extra={"call_id": self.call_id, "error": type(exc).__name__})
            return default

    async def _after_holding_line(self) -> None:
        """Let the holding line finish (it says the practice is closed and gives the numbers)."""
        deadline = time.monotonic() + 30
        await asyncio.sleep(0.5)
        while self.session.agent_state == "speaking" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def _offer_callback(self) -> None:
        assert self.ticket is not None
        policy = await self._ask(self.policy.after_hours, self.practice_id, default={})
        emergency = self.ticket.level == "emergency"
        if emergency and policy.get("emergency_stays_on_line"):
            self.session.say(prompts.text("handoff_emergency_stay", self.lang).format(
                emergency=policy.get("emergency_number") or "15"), allow_interruptions=False)
            self._wait_task = asyncio.create_task(self._wait_for_secretary(), name="handoff-wait")
            return
        if emergency:
            await self._make_callback(None)
            text = prompts.text("handoff_emergency_timeout", self.lang).format(
                emergency=policy.get("emergency_number") or "15")
            self._say_then_hang_up(text)
            return
        number = self.call.caller_number
        key = "handoff_timeout_offer" if number else "handoff_timeout_offer_no_number"
        offer = prompts.text(key, self.lang).format(number=_spoken_number(number))
        self.session.update_agent(CallbackAgent(self, offer))

    def expect_answer(self) -> None:
        """The caller has `answer_timeout_s` after the offer; silence still books the callback."""
        if self._answer_task is None:
            self._answer_task = asyncio.create_task(self._answer_deadline(), name="handoff-answer")

    async def _answer_deadline(self) -> None:
        await self._after_holding_line()
        await asyncio.sleep(self.policy.answer_timeout_s)
        if not self._callback_done and not self.ended:
            await self.callback_answer("", None)

    async def callback_answer(self, text: str, confidence: float | None) -> None:
        """The caller's answer to the callback offer: their best time (and message, kept in the transcript)."""
        if self._callback_done:
            if text:
                self._record_caller(text, confidence)
            return
        due = None
        if text:
            guard = await asyncio.to_thread(guard_turn, text, triage=self.triage, lang=self.lang,
                                            context=self.call.triage_context)
            self.call.caller_turn(text, confidence=confidence, stopped_at=None, guard=guard)
            if guard.level == "emergency":
                policy = await self._ask(self.policy.after_hours, self.practice_id, default={})
                await self._make_callback(None)
                self._say_then_hang_up(prompts.text("handoff_emergency_timeout", self.lang).format(
                    emergency=policy.get("emergency_number") or "15"))
                return
            due = self._best_time(text)
            if not self.call.caller_number:  # no caller ID: the number they said, if any
                self.call.caller_number = spoken_phone_number(text, self.lang)
        await self._make_callback(due)
        policy = await self._ask(self.policy.after_hours, self.practice_id, default={})
        when = _spoken_due(due, self.lang) if due else prompts.text("handoff_callback_soon", self.lang)
        text_out = prompts.text("handoff_callback_noted", self.lang).format(when=when) + " " + numbers_text(
            policy, self.lang)
        self._say_then_hang_up(text_out)

    def _best_time(self, text: str) -> datetime | None:
        if self.parse_when is None:
            return None
        try:
            return self.parse_when(text, datetime.now(UTC), self.lang)
        except Exception as exc:  # a parser failure must not lose the callback
            log.warning("could not read the callback time", extra={"call_id": self.call_id,
                                                                  "error": type(exc).__name__})
            return None

    async def _make_callback(self, due: datetime | None) -> None:
        if self._callback_done or self.ticket is None:
            return
        self._callback_done = True
        due = due or datetime.now(UTC) + timedelta(hours=2)
        try:
            await asyncio.to_thread(self.policy.to_callback, self.ticket.id, due, self.call.caller_number)
        except Exception as exc:
            log.error("could not turn the ticket into a callback", extra={"call_id": self.call_id,
                                                                         "error": type(exc).__name__})

    def _say_then_hang_up(self, text: str) -> None:
        with contextlib.suppress(RuntimeError):
            handle = self.session.say(text, allow_interruptions=False)
            handle.add_done_callback(lambda _: self.hangup.set())
            return
        self.hangup.set()

    # -- the secretary's bridge ---------------------------------------------------------------------------

    async def attach(self, socket: SecretarySocket, *, secretary_id: int) -> None:
        """Bridge the secretary in until either side hangs up (runs on the call's event loop)."""
        if self.ended:
            raise HandoffError("call_ended")
        if self._socket is not None:
            raise HandoffError("already_bridged")
        self._socket, self.secretary_id = socket, secretary_id
        self._outbox = asyncio.Queue(maxsize=500)
        if self._wait_task is not None:
            self._wait_task.cancel()
        self._callback_done = True  # the wait is over: a human has the call
        self._mute_agent()
        self._start_secretary_stt()
        sender = asyncio.create_task(self._send_loop(socket), name="handoff-send")
        log.info("secretary bridged", extra={"call_id": self.call_id, "user": secretary_id})
        self._queue_text({"type": "state", "state": "connected"})
        try:
            await self._receive_loop(socket)
        finally:
            await self._detach(sender)

    def _mute_agent(self) -> None:
        """The agent stops speaking now and no longer answers; the caller's turns are still transcribed."""
        with contextlib.suppress(RuntimeError):
            self.session.interrupt(force=True)
        self.clear_output()
        self.session.update_agent(ListeningAgent(self._record_caller, self.lang))

    async def _receive_loop(self, socket: SecretarySocket) -> None:
        pending = b""
        while not self.hangup.is_set() and (message := await _first(socket.receive(), self.hangup)) is not None:
            if isinstance(message, bytes):
                if self.on_hold:
                    continue
                data = pending + message
                whole = len(data) - len(data) % FRAME_BYTES
                pending = data[whole:]
                for start in range(0, whole, FRAME_BYTES):
                    await self._to_caller(data[start:start + FRAME_BYTES])
                continue
            command = _command(message)
            if command == "hangup":
                self.hangup.set()
                return
            if command == "hold":
                self._hold(True)
            elif command == "resume":
                self._hold(False)

    async def _to_caller(self, mulaw: bytes) -> None:
        try:
            await self.send(media_message(self.call.stream_sid, mulaw))
        except ConnectionError:
            self.hangup.set()
            return
        self.frames_to_caller += 1
        if self._stt_stream is not None:
            pcm = mulaw_decode(mulaw)
            with contextlib.suppress(RuntimeError):
                self._stt_stream.push_frame(rtc.AudioFrame(pcm.tobytes(), MULAW_RATE, 1, len(pcm)))

    def caller_audio(self, mulaw: bytes) -> None:
        """The caller's audio as it arrives on the media stream (the runner's tap): copied to the secretary."""
        if self._outbox is None or self.on_hold or not mulaw:
            return
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(mulaw)
            self.frames_to_secretary += 1

    def _hold(self, on: bool) -> None:
        if on == self.on_hold:
            return
        self.on_hold = on
        self._queue_text({"type": "state", "state": "hold" if on else "connected"})
        if on:
            with contextlib.suppress(RuntimeError):
                self.session.say(prompts.text("handoff_hold", self.lang), allow_interruptions=False)
            self._hold_task = asyncio.create_task(self._hold_tone(), name="handoff-hold-tone")
        else:
            if self._hold_task is not None:
                self._hold_task.cancel()
            with contextlib.suppress(RuntimeError):
                self.session.interrupt(force=True)
            self.clear_output()

    async def _hold_tone(self) -> None:
        """A soft two-note chime every few seconds while on hold (after the hold message)."""
        await asyncio.sleep(HOLD_TONE_EVERY_S)
        chime = _chime()
        while self.on_hold and not self.hangup.is_set():
            for start in range(0, len(chime), FRAME_BYTES):
                with contextlib.suppress(ConnectionError):
                    await self.send(media_message(self.call.stream_sid, chime[start:start + FRAME_BYTES]))
            await asyncio.sleep(HOLD_TONE_EVERY_S)

    def _record_caller(self, text: str, confidence: float | None) -> None:
        if not text.strip():
            return
        self.call.caller_turn(text, confidence=confidence, stopped_at=None, guard=GuardResult("routine", "handoff"))
        self._queue_text({"type": "transcript", "speaker": "caller", "text": text, "seq": len(self.call.turns)})

    def _record_secretary(self, text: str, confidence: float | None) -> None:
        if not text.strip():
            return
        turn = self.call._add("secretary", text, stt_confidence=confidence)  # CallState has no public setter for it
        self._queue_text({"type": "transcript", "speaker": "secretary", "text": text, "seq": turn.seq})

    def _start_secretary_stt(self) -> None:
        """A second STT pass on the secretary's frames, so her words are in the record and the live transcript."""
        try:
            engine = self.make_stt(self.lang)
            if not engine.capabilities.streaming:
                engine = stt.StreamAdapter(stt=engine, vad=self.vad)
            self._stt_stream = engine.stream()
        except Exception as exc:
            log.warning("secretary transcription unavailable", extra={"call_id": self.call_id,
                                                                     "error": type(exc).__name__})
            return
        self._stt_task = asyncio.create_task(self._secretary_transcripts(), name="handoff-secretary-stt")

    async def _secretary_transcripts(self) -> None:
        assert self._stt_stream is not None
        async for event in self._stt_stream:
            if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT and event.alternatives:
                best = event.alternatives[0]
                self._record_secretary(best.text, best.confidence)

    def _queue_text(self, payload: dict[str, Any]) -> None:
        if self._outbox is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))

    async def _send_loop(self, socket: SecretarySocket) -> None:
        assert self._outbox is not None
        while (item := await self._outbox.get()) is not None:
            try:
                if isinstance(item, bytes):
                    await socket.send_bytes(item)
                else:
                    await socket.send_text(item)
            except (ConnectionError, RuntimeError, OSError):
                return

    async def _detach(self, sender: asyncio.Task[None]) -> None:
        if self._stt_stream is not None:
            with contextlib.suppress(Exception):
                self._stt_stream.end_input()
            if self._stt_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._stt_task), 8.0)
        if self._hold_task is not None:
            self._hold_task.cancel()
        self._queue_text({"type": "state", "state": "ended"})
        if self._outbox is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sender, 2.0)
        socket, self._socket, self._outbox = self._socket, None, None
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.close(1000, "call ended")
        self.hangup.set()  # the secretary is gone or the caller hung up: the call is over
        if self.on_detach is not None:
            self.on_detach(self.call_id)
        log.info("secretary left the call", extra={"call_id": self.call_id, "to_caller": self.frames_to_caller,
                                                   "to_secretary": self.frames_to_secretary})

    def call_ended(self) -> None:
        """The caller's socket is gone (or the call is over): stop waiting, release the bridge; a caller who
        hung up before anyone picked up leaves an abandoned ticket (an emergency: a callback, to check on them)."""
        self.ended = True
        self.hangup.set()
        for task in (self._wait_task, self._answer_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if self.ticket is None or self._callback_done or self.secretary_id is not None or self.loop is None:
            return
        self._callback_done = True
        ticket, number = self.ticket, self.call.caller_number
        work: Callable[[], None] = (partial(self.policy.to_callback, ticket.id, datetime.now(UTC), number)
                                    if ticket.level == "emergency" else partial(self.policy.abandon, ticket.id))
        self.loop.run_in_executor(None, _quietly, work, self.call_id)


def _quietly(work: Callable[[], None], call_id: str) -> None:
    try:
        work()
    except Exception as exc:  # e.g. a secretary claimed it meanwhile: the ticket stays hers
        log.info("ticket left as it is after the hang-up", extra={"call_id": call_id, "error": type(exc).__name__})


def spoken_phone_number(text: str, lang: str) -> str:
    """A French phone number said in words or digits ("zéro six douze…"), as 10 digits; "" when none."""
    from agent.dialog.text import digits_of_words

    digits = re.sub(r"\D", "", digits_of_words(text, lang))
    found = re.search(r"0[1-9]\d{8}", digits)
    return found.group(0) if found else ""


def numbers_text(policy: dict[str, Any], lang: str) -> str:
    """The numbers to call meanwhile: 15, 116 117 and, as the practice configures, SOS Médecins / the MMG."""
    options = []
    if policy.get("sos_medecins"):
        options.append(prompts.text("handoff_numbers_sos", lang).format(number=policy["sos_medecins"]))
    if policy.get("maison_medicale_de_garde"):
        options.append(prompts.text("handoff_numbers_mmg", lang).format(name=policy["maison_medicale_de_garde"]))
    extra = (" " + prompts.text("handoff_numbers_or", lang).format(options=", ".join(options))) if options else ""
    return prompts.text("handoff_numbers", lang).format(emergency=policy.get("emergency_number") or "15",
                                                        urgent=policy.get("urgent_care_number") or "116 117",
                                                        extra=extra)


def _spoken_number(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    if number.startswith("+33") and len(digits) == 11:
        digits = "0" + digits[2:]
    if len(digits) == 10:
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    return number


def _spoken_due(due: datetime, lang: str) -> str:
    local = due.astimezone(_paris())
    if lang == "en":
        return local.strftime("on %d/%m at %H:%M")
    return f"le {local.day:02d}/{local.month:02d} vers {local.hour} h {local.minute:02d}"


def _paris() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


def _command(message: str) -> str:
    try:
        value = json.loads(message)
    except ValueError:
        return ""
    return str(value.get("type", "")) if isinstance(value, dict) else ""


def _chime() -> bytes:
    import numpy as np

    from agent.audio import mulaw_encode

    t = np.arange(int(0.25 * MULAW_RATE)) / MULAW_RATE
    notes = [np.sin(2 * np.pi * f * t) * np.hanning(len(t)) for f in (660.0, 880.0)]
    pcm = (np.concatenate(notes) * 5000).astype(np.int16)
    data = mulaw_encode(pcm)
    return data + b"\xff" * (-len(data) % FRAME_BYTES)


async def _first(receive: Awaitable[str | bytes | None], stop: asyncio.Event) -> str | bytes | None:
    """The next message, or None once `stop` is set (the caller hung up)."""
    message_task = asyncio.ensure_future(receive)
    stop_task = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({message_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    if message_task in done:
        stop_task.cancel()
        return message_task.result()
    message_task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await message_task
    return None
