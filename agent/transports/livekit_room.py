"""The LiveKit room transport: the caller (a SIP participant) in a room → one `CallSession` on the room's I/O."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from livekit import rtc
from livekit.agents import AutoSubscribe
from livekit.agents.voice.events import CloseEvent, CloseReason
from livekit.agents.voice.room_io import AudioInputOptions, AudioOutputOptions, RoomOptions, TextOutputOptions

from agent.call_runner import CallOptions, CallSession, VoiceStack
from agent.call_state import CallState, CallSummary
from agent.call_store import CallStore

log = logging.getLogger(__name__)

# Attributes LiveKit SIP sets on the caller's participant, and ours (set by the SIP dispatch rule's
# `attributes`, or by the job's metadata) naming the practice and the language of the line that was dialled.
SIP_PHONE_NUMBER = "sip.phoneNumber"
SIP_CALL_ID = "sip.callID"
SIP_TRUNK_NUMBER = "sip.trunkPhoneNumber"
PRACTICE_ATTRIBUTE = "permanence.practice"
LANGUAGE_ATTRIBUTE = "permanence.language"
CALLER_KINDS = [rtc.ParticipantKind.PARTICIPANT_KIND_SIP, rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD]
STT_RATE = 16000


class RoomJob(Protocol):
    """What the room transport needs from livekit-agents' `JobContext` (tests pass a fake)."""

    @property
    def room(self) -> rtc.Room: ...

    async def connect(self, *, auto_subscribe: AutoSubscribe = ...) -> None: ...

    async def wait_for_participant(self, *, identity: str | None = ..., kind: Any = ...) -> rtc.RemoteParticipant: ...

    def delete_room(self, room_name: str | None = None) -> Any: ...

    def shutdown(self, reason: str = ...) -> None: ...


@dataclass(frozen=True)
class RoomCaller:
    """Who is calling, read from the participant's attributes and the job's metadata."""

    identity: str
    number: str
    practice: str | None
    language: str
    call_ref: str


def caller_from(
    participant: rtc.RemoteParticipant, job_metadata: str = "", *, default_language: str = "fr"
) -> RoomCaller:
    """The caller's number (`sip.phoneNumber`), practice and language; metadata is the dispatch's JSON, if any."""
    attributes = dict(participant.attributes or {})
    metadata = _json_object(job_metadata)
    practice = attributes.get(PRACTICE_ATTRIBUTE) or str(metadata.get("practice") or "") or None
    language = attributes.get(LANGUAGE_ATTRIBUTE) or str(metadata.get("language") or "") or default_language
    call_ref = attributes.get(SIP_CALL_ID) or participant.sid or participant.identity
    return RoomCaller(identity=participant.identity, number=attributes.get(SIP_PHONE_NUMBER, "")[:20],
                      practice=practice, language=language if language in ("fr", "en") else default_language,
                      call_ref=call_ref[:64])


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def room_options(identity: str) -> RoomOptions:
    """RoomIO linked to the caller only: audio in at Whisper's rate, audio out, transcripts, no text chat."""
    return RoomOptions(
        audio_input=AudioInputOptions(sample_rate=STT_RATE),
        audio_output=AudioOutputOptions(sample_rate=STT_RATE),
        text_output=TextOutputOptions(sync_transcription=False),
        text_input=False,
        participant_kinds=CALLER_KINDS,
        participant_identity=identity,
        close_on_disconnect=True,
    )


async def run_room_call(job: RoomJob, *, stack: VoiceStack, store: CallStore, options: CallOptions | None = None,
                        job_metadata: str = "") -> CallSummary:
    """Answer the room's caller with the reception agent until one side hangs up; persist the call."""
    options = options or CallOptions()
    await job.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
    participant = await job.wait_for_participant(kind=CALLER_KINDS)
    caller = caller_from(participant, job_metadata, default_language=options.language)
    call = await CallState.open(store=store, stream_sid=caller.call_ref, practice_slug=caller.practice,
                                caller_number=caller.number, language=caller.language)
    live = _RoomCall(job, CallSession(stack=stack, options=options, call=call), caller)
    return await live.run()


class _RoomCall:
    """One call in a room: keypad digits from SIP, the caller's hang-up, and the agent's (room deleted)."""

    def __init__(self, job: RoomJob, session: CallSession, caller: RoomCaller) -> None:
        self.job, self.session, self.caller = job, session, caller
        self.call = session.call

    async def run(self) -> CallSummary:
        room = self.job.room
        room.on("sip_dtmf_received", self._on_dtmf)
        try:
            await self.session.start(room=room, room_options=room_options(self.caller.identity))
            if self.session.session is not None:
                self.session.session.on("close", self._on_close)
            await self.session.hangup.wait()
        except Exception as exc:  # by type only: messages may quote what the caller said
            log.error("room call failed", extra={"call_id": self.call.call_id, "error": type(exc).__name__})
            self.call.error = "internal"
        finally:
            room.off("sip_dtmf_received", self._on_dtmf)
            summary = await self._finish()
        return summary

    def _on_dtmf(self, ev: rtc.SipDTMF) -> None:
        if ev.participant is not None and ev.participant.identity == self.caller.identity and ev.digit:
            self.call.dtmf_digit(ev.digit[:1])

    def _on_close(self, ev: CloseEvent) -> None:
        if ev.reason == CloseReason.PARTICIPANT_DISCONNECTED:
            self.call.hung_up = True

    async def _finish(self) -> CallSummary:
        await self.session.aclose()
        if not self.call.hung_up:  # the agent ends the call: deleting the room hangs up the SIP leg
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.ensure_future(self.job.delete_room()), 5.0)
        summary = await self.call.close({"transport": "livekit", "dtmf": len(self.call.dtmf)})
        log.info("call ended", extra={"call_id": summary.call_id, "outcome": summary.outcome})
        self.job.shutdown(reason="call ended")
        return summary
