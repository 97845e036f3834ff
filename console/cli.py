"""The `permanence` command line: the composition root of every Permanence process started from it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from console.admin.commands import admin_app, purge_command

app = typer.Typer(
    name="permanence",
    help="Permanence — accueil téléphonique hybride IA + humain pour cabinets médicaux.",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks: print latency figures measured on this machine.")
app.add_typer(bench_app, name="bench")
app.add_typer(admin_app, name="admin")
app.command("purge")(purge_command)

HostOption = Annotated[str | None, typer.Option("--host", help="Interface to bind (default 127.0.0.1).")]
PortOption = Annotated[int | None, typer.Option("--port", help="Port to listen on (default 8000).")]


def _not_built(what: str) -> None:
    typer.echo(f"`permanence {what}` is not built yet.", err=True)
    raise typer.Exit(code=2)


@app.command()
def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Serve the console, the call gateway and the agent sessions (no seeding)."""
    from console.serve import run_server

    run_server(host=host, port=port, seed_demo=False)


@app.command()
def demo(host: HostOption = None, port: PortOption = None) -> None:
    """Seed the demo group practice (idempotent), then serve it."""
    from console.serve import run_server

    run_server(host=host, port=port, seed_demo=True)


@app.command()
def triage(
    text: Annotated[str | None, typer.Argument(help="One caller utterance.")] = None,
    jsonl: Annotated[str | None, typer.Option("--jsonl", help="JSON lines {id, text}; '-' for stdin.")] = None,
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="A draft thresholds file (YAML or JSON) to evaluate.")
    ] = None,
) -> None:
    """Triage and intent of caller utterances, without audio (one JSON line per utterance).

    With --thresholds, decisions use the draft and a comparison with the active defaults goes to stderr.
    """
    import sys

    from console.triage_command import run_triage
    from escalation.thresholds_io import ThresholdsFileError

    try:
        code = run_triage(text=text, jsonl=jsonl, thresholds_path=thresholds, out=sys.stdout, err=sys.stderr)
    except ThresholdsFileError as exc:
        typer.echo(f"permanence triage: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    raise typer.Exit(code=code)


@app.command()
def call(
    say: Annotated[list[str] | None, typer.Option("--say", help="A caller turn, as text.")] = None,
    audio: Annotated[list[Path] | None, typer.Option("--audio", help="A caller turn, as a WAV file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    out_audio: Annotated[Path | None, typer.Option("--out-audio", help="Write the agent's audio.")] = None,
    demo_db: Annotated[bool, typer.Option("--demo", help="Run on a fresh copy of the demo practice.")] = False,
    caller: Annotated[str | None, typer.Option("--caller", help="Caller ID.")] = None,
    speed: Annotated[float, typer.Option("--speed", min=0.1, max=20.0, help="Stream audio N× real time.")] = 1.0,
    at: Annotated[str | None, typer.Option(
        "--at", help="Call as if at this local time, e.g. 2026-12-08T10:00 (after hours, holidays); default: now.",
    )] = None,
) -> None:
    """One simulated phone call through the real voice pipeline."""
    import json
    import secrets
    import sys

    from redis import Redis

    from agent.call_command import CallRequest, ordered_turns, render_text, run_call
    from console.app import create_app
    from console.media_admission import MediaStreamAdmission
    from practice.settings import Settings

    if not say and not audio:
        raise typer.BadParameter("give at least one --say TEXT or --audio WAV")
    settings = Settings()
    settings = settings.model_copy(update={"demo_mode": settings.demo_mode or demo_db,
                                           "secret_key": settings.secret_key or secrets.token_urlsafe(32)})
    request = CallRequest(turns=ordered_turns(sys.argv, say or [], audio or []), as_json=as_json,
                          out_audio=out_audio, demo=demo_db, caller=caller or "", speed=speed,
                          now=_local_time(at, settings.tz) if at else None)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    admission = MediaStreamAdmission.from_settings(settings)  # the call is this console's own client
    report = run_call(request, settings=settings, admit=admission, token=admission.client_token(),
                      app_factory=lambda engine, runner: create_app(settings=settings, engine=engine, redis=redis,
                                                                   call_handler=runner, media_admission=admission))
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json else render_text(report))


def _local_time(text: str, zone: ZoneInfo) -> datetime:
    """An ISO date-time from the command line, in the practice's time zone unless it names its own offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date-time: {text!r} (expected e.g. 2026-12-08T10:00)", param_hint="--at") \
            from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    calls: Annotated[
        str, typer.Option("--calls", help="Simultaneous-call levels, comma-separated.")
    ] = "1,2,4,6,8",
    utterances: Annotated[int, typer.Option("--utterances", min=1, help="Caller utterances per call.")] = 6,
    quick: Annotated[bool, typer.Option("--quick", help="About a minute: 3 utterances, 1 and 2 calls.")] = False,
    turn_detector: Annotated[
        str, typer.Option("--turn-detector", help="'heuristic' (default) or 'livekit-mini' (bundled audio model).")
    ] = "heuristic",
) -> None:
    """Voice pipeline: voice-to-voice p50/p95 by stage, STT RTF, TTS first audio, memory, calls sustained."""
    if ctx.invoked_subcommand is not None:
        return
    import json
    import sys
    from dataclasses import replace

    from agent.bench import BenchConfig, format_voice_table, quick_config, run_voice_bench
    from agent.voice_stack import StackConfig
    from practice.settings import Settings

    settings = Settings()
    stack = StackConfig(data_dir=settings.data_dir, whisper_model=settings.whisper_model,
                        piper_voice=settings.piper_voice, turn_detector=turn_detector)
    levels = tuple(int(n) for n in calls.split(",") if n.strip())
    config = quick_config(stack) if quick else BenchConfig(utterances=utterances, calls=levels, stack=stack)
    if quick and (utterances != 6 or calls != "1,2,4,6,8"):
        config = replace(config, utterances=utterances if utterances != 6 else config.utterances,
                         calls=levels if calls != "1,2,4,6,8" else config.calls)
    result = run_voice_bench(config, data_dir=settings.data_dir, log=lambda m: print(m, file=sys.stderr))
    typer.echo(json.dumps(result, indent=2) if as_json else format_voice_table(result))


@bench_app.command("calendar")
def bench_calendar(
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Database to run on (default: a temporary SQLite file).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    searches: Annotated[int, typer.Option("--searches", min=1, help="Slot searches to time.")] = 200,
    bookings: Annotated[int, typer.Option("--bookings", min=1, help="Bookings to time.")] = 100,
) -> None:
    """Calendar: slot search and booking p50/p95 on 50 practitioners and three months ~40 % booked."""
    import json

    from practice.calendar_bench import format_table, run_calendar_bench

    result = run_calendar_bench(database_url, searches=searches, bookings=bookings)
    typer.echo(json.dumps(result, indent=2) if as_json else format_table([result]))


def main() -> None:
    app()
