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
