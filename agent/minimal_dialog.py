"""A placeholder dialog `llm.LLM`: a short authored acknowledgement per caller turn (the real engine comes later)."""

from __future__ import annotations

import uuid
from typing import Any

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

import prompts


class AcknowledgeLLM(llm.LLM[Any]):
    """Answers every turn with the authored acknowledgement in the call's language, with no tool call."""

    def __init__(self, *, lang: str = "fr") -> None:
        super().__init__()
        self._lang = lang

    @property
    def model(self) -> str:
        return "acknowledge"

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
        return _AcknowledgeStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options,
                                  text=prompts.text("acknowledge", self._lang))


class _AcknowledgeStream(llm.LLMStream):
    def __init__(
        self, owner: llm.LLM[Any], *, chat_ctx: llm.ChatContext, tools: list[llm.Tool], conn_options: APIConnectOptions,
        text: str,
    ) -> None:
        super().__init__(owner, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._text = text

    async def _run(self) -> None:
        delta = llm.ChoiceDelta(role="assistant", content=self._text)
        self._event_ch.send_nowait(llm.ChatChunk(id=uuid.uuid4().hex, delta=delta))
