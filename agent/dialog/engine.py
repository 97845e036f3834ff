"""The offline protocol dialog engine: a deterministic `llm.LLM` that emits the tool calls and replies a model would."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from agent.dialog.flows.router import Conversation
from agent.dialog.flows.state import Step

log = logging.getLogger(__name__)


class DialogEngine(llm.LLM[Any]):
    """One per call: reads the newest chat item (a caller message or a tool result) and answers it."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation
        self.turn_ms: list[float] = []

    @property
    def model(self) -> str:
        return "protocol-engine"

    @property
    def provider(self) -> str:
        return "permanence"

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
        return _EngineStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    def respond(self, chat_ctx: llm.ChatContext) -> Step:
        """The next step for the newest item of the chat context (timed for the benchmark)."""
        started = time.perf_counter()
        step = self._respond(chat_ctx)
        self.conversation.remember(step.say)
        self.turn_ms.append((time.perf_counter() - started) * 1000)
        return step

    def _respond(self, chat_ctx: llm.ChatContext) -> Step:
        items = chat_ctx.items
        outputs = _trailing_outputs(items)
        if outputs:
            last = outputs[-1]
            return self.conversation.on_tool_output(last.name, last.output, last.is_error)
        message = next((i for i in reversed(items) if isinstance(i, llm.ChatMessage) and i.role == "user"), None)
        if message is None or _answered(items, message):
            return Step(self.conversation.state.say("ask_task"))
        return self.conversation.on_user(message.text_content or "")


def _trailing_outputs(items: list[llm.ChatItem]) -> list[llm.FunctionCallOutput]:
    """Tool results not yet answered: the function-call outputs after the last message."""
    found: list[llm.FunctionCallOutput] = []
    for item in reversed(items):
        if isinstance(item, llm.FunctionCallOutput):
            found.append(item)
        elif isinstance(item, llm.ChatMessage):
            break
    return list(reversed(found))


def _answered(items: list[llm.ChatItem], message: llm.ChatMessage) -> bool:
    after = items[items.index(message) + 1 :]
    return any(isinstance(i, llm.ChatMessage) and i.role == "assistant" for i in after)


class _EngineStream(llm.LLMStream):
    async def _run(self) -> None:
        owner = self._llm
        assert isinstance(owner, DialogEngine)
        step = owner.respond(self._chat_ctx)
        calls = []
        if step.call is not None:
            calls = [llm.FunctionToolCall(name=step.call.name, arguments=step.call.json(),
                                          call_id=f"call_{uuid.uuid4().hex[:12]}")]
        delta = llm.ChoiceDelta(role="assistant", content=step.say or None, tool_calls=calls)
        self._event_ch.send_nowait(llm.ChatChunk(id=uuid.uuid4().hex, delta=delta))
