"""The `permanence` command line: every public sub-command exists and explains itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app

pytestmark = pytest.mark.unit

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["serve"], ["demo"], ["triage"], ["call"], ["bench"]])
def test_every_sub_command_has_help(command: list[str]):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_serve_and_demo_accept_host_and_port():
    for command in ("serve", "demo"):
        output = runner.invoke(app, [command, "--help"]).output
        assert "--host" in output and "--port" in output


def test_the_console_script_is_installed():
    exe = Path(sys.executable).parent / "permanence"
    assert exe.is_file(), "pip install -e . must install the `permanence` console script"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    for command in ("serve", "demo", "triage", "call", "bench"):
        assert command in result.stdout


def test_call_at_a_local_time_reads_the_practice_zone():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from console.cli import _local_time

    paris = ZoneInfo("Europe/Paris")
    assert _local_time("2026-12-08T10:00", paris) == datetime(2026, 12, 8, 10, 0, tzinfo=paris)
    assert _local_time("2026-12-08T10:00+00:00", paris).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_call_refuses_a_time_it_cannot_read():
    result = runner.invoke(app, ["call", "--say", "Bonjour", "--at", "mardi matin"])
    assert result.exit_code == 2
    assert "--at" in result.output and "2026-12-08T10:00" in result.output
