"""Voice pipeline benchmark, quick run: real WebSocket, real models, real time; prints the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.bench import format_voice_table, quick_config, run_voice_bench
from agent.voice_stack import StackConfig

pytestmark = pytest.mark.bench


def test_voice_bench_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_voice_bench(quick_config(StackConfig(data_dir=tmp_path)), data_dir=tmp_path)
    with capsys.disabled():
        print("\n" + format_voice_table(result))
    one = result["concurrency"][0]
    assert one["calls"] == 1 and one["n"] == 3 and one["missed_turns"] == 0
    assert result["stages"]["voice_to_voice"]["n"] == 3
    assert result["stt_real_time_factor"] is not None and result["tts_first_audio"]["n"] > 0
    assert result["barge_in"]["n"] >= 1  # the figures themselves are reported, not asserted (shared machine)
