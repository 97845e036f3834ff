"""The greeting: the practice's name, an automated assistant (EU AI Act art. 50), a person can take over,
recording when on, and after hours or on a public holiday what to do now."""

from __future__ import annotations

from agent.tools.context import CallContext
from agent.tools.practice_profile import after_hours_text
from agent.tools.speech import say


def greeting(ctx: CallContext) -> str:
    lines = [say("greeting", ctx.lang, practice=ctx.practice.name)]
    if ctx.practice.recording:
        lines.insert(1, say("greeting_recording", ctx.lang))
    status = ctx.practice.status(ctx.now())
    if not status.open:
        lines.insert(len(lines) - 1, after_hours_text(ctx.practice, status, ctx.lang))
        ctx.record("informed", {"kind": "info_given", "topic": "after_hours"})
    return " ".join(lines)
