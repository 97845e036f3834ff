"""The dialog LLM of a call: a remote OpenAI-compatible model when configured, the offline engine as its fallback."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livekit.agents import llm
from livekit.agents._exceptions import APIConnectionError
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

import prompts
from agent.tools import actions
from agent.tools.context import CallContext

if TYPE_CHECKING:
    from agent.dialog.engine import DialogEngine
    from practice.settings import Settings

log = logging.getLogger(__name__)

# Environment overrides of the timeouts (seconds); LLM_BASE_URL, LLM_MODEL and LLM_API_KEY are in Settings.
ENV_FIRST_TOKEN = "LLM_FIRST_TOKEN_TIMEOUT_S"
ENV_CHUNK = "LLM_CHUNK_TIMEOUT_S"
ENV_MAX_FAILURES = "LLM_MAX_FAILURES"


@dataclass(frozen=True)
class RemoteLLMConfig:
    """How to reach the remote model and how long to wait for it before the offline engine answers."""

    base_url: str
    model: str
    api_key: str = ""
    temperature: float = 0.2
    first_token_timeout_s: float = 4.0  # request sent → first text or tool call
    chunk_timeout_s: float = 4.0  # longest pause between two chunks once it answers
    connect_timeout_s: float = 2.0
    max_failures: int = 2  # consecutive failed turns before the rest of the call stays offline

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> RemoteLLMConfig | None:
        """The configuration when LLM_BASE_URL and LLM_MODEL are set; None keeps the offline engine alone."""
        if not settings.llm_configured:
            return None
        env = os.environ if environ is None else environ
        return cls(base_url=settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key,
                   first_token_timeout_s=float(env.get(ENV_FIRST_TOKEN, cls.first_token_timeout_s)),
                   chunk_timeout_s=float(env.get(ENV_CHUNK, cls.chunk_timeout_s)),
                   max_failures=int(env.get(ENV_MAX_FAILURES, cls.max_failures)))

    @property
    def conn_options(self) -> APIConnectOptions:
        """One attempt per turn (no retry: the offline engine is the retry), bounded like the first token."""
        return APIConnectOptions(max_retry=0, retry_interval=0.0,
                                 timeout=max(self.first_token_timeout_s, self.chunk_timeout_s))


def make_remote_llm(config: RemoteLLMConfig) -> llm.LLM[Any]:
    """livekit-plugins-openai against the configured endpoint (never a LiveKit cloud model string)."""
    import httpx2 as httpx  # the client library livekit-plugins-openai is built on
    from livekit.plugins import openai as lk_openai

    timeout = httpx.Timeout(connect=config.connect_timeout_s, read=config.chunk_timeout_s,
                            write=config.connect_timeout_s, pool=config.connect_timeout_s)
    return lk_openai.LLM(model=config.model, base_url=config.base_url, api_key=config.api_key or "not-needed",
                         temperature=config.temperature, timeout=timeout, max_retries=0)


class RemoteUnavailable(Exception):
    """The remote model did not answer this turn (timeout, HTTP error, refused, empty or malformed stream)."""


class FallbackDialog(llm.LLM[Any]):
    """One per call: the remote model answers each turn; when it is slow or fails, the offline engine answers
    that turn, and after `max_failures` consecutive failures every later turn. If the offline engine fails
    too, the caller hears the technical fallback line and the call is handed to a person."""

    def __init__(self, remote: llm.LLM[Any], offline: DialogEngine, *, ctx: CallContext,
                 config: RemoteLLMConfig) -> None:
        super().__init__()
        self.remote, self.offline, self.ctx, self.config = remote, offline, ctx, config
        self.failures = 0  # consecutive
        self.remote_turns = 0
        self.offline_turns = 0
        self.gave_up = False
        self.engine_pending = False  # the engine called a tool last turn: it reads the result itself

    @property
    def model(self) -> str:
        return f"{self.remote.model}+{self.offline.model}"

    @property
    def provider(self) -> str:
        return "permanence"

    @property
    def remote_enabled(self) -> bool:
        return self.failures < self.config.max_failures

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        # no retry around the whole turn: each part has its own bound and fallback
        return _FallbackStream(self, chat_ctx=chat_ctx, tools=tools or [],
                               conn_options=APIConnectOptions(max_retry=0, timeout=conn_options.timeout))

    def remote_failed(self, reason: str) -> None:
        self.failures += 1
        log.warning("remote LLM failed this turn",
                    extra={"call_id": self.ctx.call_id, "reason": reason, "failures": self.failures,
                           "remote_disabled": not self.remote_enabled})

    def give_up(self) -> str:
        """Both dialogs failed: record the component failure, enqueue a hand-off; the line to say."""
        self.gave_up = True
        escalation = self.offline.conversation.monitor.on_component_failure("llm")
        reason = escalation.reason if escalation else "Panne technique (dialogue)."
        try:
            actions.request_human(self.ctx, reason, "routine")
        except Exception as exc:  # the queue is down too: the caller still hears the line
            log.error("could not enqueue the hand-off", extra={"call_id": self.ctx.call_id,
                                                               "error": type(exc).__name__})
        return prompts.text("technical_fallback", self.ctx.lang)


def context_note(ctx: CallContext) -> str:
    """What a remote model cannot know: the practice, today's date and time, the caller's number being known."""
    now = ctx.local_now()
    if ctx.lang == "en":
        return (f"Practice: {ctx.practice.name}. Now: {now:%A %Y-%m-%d %H:%M} (local time). "
                "The caller's phone number is known; never ask for it.")
    days = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
    return (f"Cabinet : {ctx.practice.name}. Nous sommes le {days[now.weekday()]} {now:%Y-%m-%d}, "
            f"il est {now:%H:%M} (heure locale). Le numéro de l'appelant est connu : ne le demande pas.")


def with_context(chat_ctx: llm.ChatContext, ctx: CallContext) -> llm.ChatContext:
    """A copy of the chat with the context note as a system message right after the instructions."""
    copy = chat_ctx.copy()
    note = llm.ChatMessage(role="system", content=[context_note(ctx)])
    items = copy.items
    at = 1 if items and isinstance(items[0], llm.ChatMessage) and items[0].role in ("system", "developer") else 0
    items.insert(at, note)
    return copy


def _has_response(chunk: llm.ChatChunk) -> bool:
    return chunk.delta is not None and bool(chunk.delta.content or chunk.delta.tool_calls)


def _newest_user_text(chat_ctx: llm.ChatContext) -> str | None:
    """The caller's message this turn answers; None when the turn answers a tool result."""
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.FunctionCallOutput):
            return None
        if isinstance(item, llm.ChatMessage):
            return (item.text_content or "") if item.role == "user" else None
    return None


def _engine_follows(owner: FallbackDialog, chat_ctx: llm.ChatContext) -> None:
    """Let the engine's state follow the tool results the model read (slots offered, appointments found...), so
    that it can take over the next turn mid-flow; what it would have said is dropped."""
    outputs: list[llm.FunctionCallOutput] = []
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage):
            break
        if isinstance(item, llm.FunctionCallOutput):
            outputs.insert(0, item)
    for output in outputs:
        try:
            owner.offline.conversation.on_tool_output(output.name, output.output, output.is_error)
        except Exception as exc:  # never breaks the model's turn
            log.warning("engine could not follow a tool result", extra={"call_id": owner.ctx.call_id,
                                                                       "error": type(exc).__name__})


class _FallbackStream(llm.LLMStream):
    async def _run(self) -> None:
        owner = self._llm
        assert isinstance(owner, FallbackDialog)
        text = _newest_user_text(self._chat_ctx)
        engine_turn = owner.engine_pending if text is None else await self._guard_fired(owner, text)
        owner.engine_pending = False
        if owner.remote_enabled and not engine_turn:
            started = time.perf_counter()
            try:
                if await self._forward_remote(owner):
                    owner.failures = 0
                owner.remote_turns += 1
                if text is None:
                    _engine_follows(owner, self._chat_ctx)
                return
            except RemoteUnavailable as exc:
                owner.remote_failed(str(exc))
            log.info("offline engine takes the turn", extra={"call_id": owner.ctx.call_id,
                                                             "after_ms": round((time.perf_counter() - started) * 1000)})
        try:
            owner.engine_pending = await self._forward_offline(owner)
            owner.offline_turns += 1
            return
        except Exception as exc:  # logged by type only: messages may quote the caller
            log.error("offline dialog failed too", extra={"call_id": owner.ctx.call_id, "error": type(exc).__name__})
        line = await asyncio.to_thread(owner.give_up)
        self._event_ch.send_nowait(llm.ChatChunk(id=uuid.uuid4().hex,
                                                 delta=llm.ChoiceDelta(role="assistant", content=line)))

    async def _forward_remote(self, owner: FallbackDialog) -> bool:
        """Forward the remote stream (False: it broke after a tool call, which stands); RemoteUnavailable when
        no tool call came and it was slow, broke, or said nothing."""
        cfg = owner.config
        stream = owner.remote.chat(chat_ctx=with_context(self._chat_ctx, owner.ctx), tools=self._tools,
                                   conn_options=cfg.conn_options)
        answered = called = False
        said = ""
        try:
            async with stream:
                chunks = stream.__aiter__()
                while True:
                    wait = cfg.chunk_timeout_s if answered else cfg.first_token_timeout_s
                    try:
                        chunk = await asyncio.wait_for(chunks.__anext__(), wait)
                    except StopAsyncIteration:
                        break
                    answered = answered or _has_response(chunk)
                    called = called or bool(chunk.delta and chunk.delta.tool_calls)
                    said += (chunk.delta.content or "") if chunk.delta else ""
                    self._event_ch.send_nowait(chunk)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if called:  # its tool call runs; the next turn (remote or offline) reads the result
                owner.remote_failed(f"{type(exc).__name__} after a tool call")
                return False
            kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise RemoteUnavailable(kind if answered else f"{kind} before the first token") from None
        if not answered:
            raise RemoteUnavailable("empty answer")
        owner.offline.conversation.remember(said.strip())  # "pardon ?" after a fallback repeats the model's words
        return True

    async def _forward_offline(self, owner: FallbackDialog) -> bool:
        """Forward the engine's answer; True when it called a tool (the engine then reads the result too)."""
        stream = owner.offline.chat(chat_ctx=self._chat_ctx, tools=self._tools)
        answered = called = False
        async with stream:
            async for chunk in stream:
                answered = answered or _has_response(chunk)
                called = called or bool(chunk.delta and chunk.delta.tool_calls)
                self._event_ch.send_nowait(chunk)
        if not answered:
            raise APIConnectionError("the offline engine said nothing", retryable=False)
        return called

    async def _guard_fired(self, owner: FallbackDialog, text: str) -> bool:
        """The triage guard on a caller message it has not seen (the text path; the voice path ran it already):
        True when it stops the dialog, and the engine, which runs it again and hands over, takes the turn."""
        ctx, conversation = owner.ctx, owner.offline.conversation
        if ctx.guarded_text == text:
            return False
        result = await asyncio.to_thread(conversation.guard, text, conversation.state.triage_context)
        if result.stops_dialog:
            return True
        conversation.state.triage_context = result.context
        ctx.guarded_text = text
        return False


DialogFactory = Callable[[CallContext, "DialogEngine"], llm.LLM[Any]]


def dialog_factory(config: RemoteLLMConfig | None) -> DialogFactory | None:
    """Per-call dialog LLM builder for `ReceptionServices`: None keeps the offline engine alone.

    The remote client (HTTP connection pool) is shared by every call of the process.
    """
    if config is None:
        return None
    remote = make_remote_llm(config)
    log.info("dialog: remote LLM with the offline engine as fallback",
             extra={"model": config.model, "first_token_timeout_s": config.first_token_timeout_s})

    def make(ctx: CallContext, engine: DialogEngine) -> llm.LLM[Any]:
        return FallbackDialog(remote, engine, ctx=ctx, config=config)

    return make
