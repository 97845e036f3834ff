"""A local OpenAI-compatible chat server for tests: scripted streamed answers (text, tool calls), slow or failing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    """One tool call the stub streams as OpenAI deltas (its arguments in several pieces)."""

    name: str
    arguments: dict[str, Any]


@dataclass
class Reply:
    """A streamed answer: optional text (several chunks), then tool calls, after `delay_s` before the first byte."""

    text: str = ""
    calls: list[Call] = field(default_factory=list)
    delay_s: float = 0.0
    status: int = 200  # anything else: an error response with no stream
    stall_after_text_s: float = 0.0  # > 0: send the text, then hang that long before finishing


Script = Callable[[dict[str, Any]], Reply]


def echo_tool_output(body: dict[str, Any]) -> str:
    """The last tool result of the request (tools return the sentence to say next), or ''."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "tool":
            return str(message.get("content") or "")
        if message.get("role") == "user":
            return ""
    return ""


class OpenAIStub:
    """`async with OpenAIStub(script) as stub:` serves /v1/chat/completions on 127.0.0.1 (a free port).

    `script(body)` returns the Reply for each request; `requests` keeps every JSON body and its headers.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> OpenAIStub:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop listening: later requests find the port closed (connection refused)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        reply = self.script(body)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return web.json_response({"error": {"message": "scripted failure", "type": "server_error"}},
                                     status=reply.status)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        model = body.get("model", "stub")
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:10]}"

        async def send(delta: dict[str, Any] | None, finish: str | None = None) -> None:
            if delta is None:
                await response.write(b"data: [DONE]\n\n")
                await response.write_eof()
                return
            chunk = {"id": chunk_id, "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        with contextlib.suppress(ConnectionResetError):  # the client gave up (timeout): nothing to finish
            await self._stream(reply, send)
        return response

    async def _stream(self, reply: Reply, send: Callable[..., Any]) -> None:
        await send({"role": "assistant", "content": ""})
        for piece in _pieces(reply.text):
            await send({"content": piece})
        if reply.stall_after_text_s:
            await asyncio.sleep(reply.stall_after_text_s)
        for index, call in enumerate(reply.calls):
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            head = {"index": index, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                    "function": {"name": call.name, "arguments": ""}}
            await send({"tool_calls": [head]})
            for piece in _pieces(arguments, 12):
                await send({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        await send({}, "tool_calls" if reply.calls else "stop")
        await send(None)


def _pieces(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@contextlib.contextmanager
def stub_in_thread(script: Script) -> Iterator[OpenAIStub]:
    """The stub on its own event loop in a thread, for a server in another process (`permanence call`)."""
    loop = asyncio.new_event_loop()
    stub = OpenAIStub(script)
    thread = threading.Thread(target=loop.run_forever, name="openai-stub", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(stub.__aenter__(), loop).result(timeout=10)
    try:
        yield stub
    finally:
        asyncio.run_coroutine_threadsafe(stub.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
