"""G.711 μ-law, resampling and WAV helpers of agent.audio."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

from agent.audio import (
    StreamResampler,
    decode_wav,
    encode_mulaw_wav,
    encode_wav,
    float_to_pcm16,
    mulaw_decode,
    mulaw_encode,
    pcm16_to_float,
    read_wav,
    resample,
    resample_pcm16,
    rms_dbfs,
    write_wav,
)

pytestmark = pytest.mark.unit


def _tone(freq: float, rate: int, seconds: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def _level_at(signal: np.ndarray, rate: int, freq: float) -> float:
    """Amplitude of the component at `freq` (single-bin DFT on a Hann-windowed signal)."""
    n = len(signal)
    window = np.hanning(n)
    t = np.arange(n) / rate
    return float(2 * abs(np.sum(signal * window * np.exp(-2j * np.pi * freq * t))) / np.sum(window))


def test_mulaw_codes_round_trip() -> None:
    codes = bytes(c for c in range(256) if c != 0x7F)  # 0x7F and 0xFF both decode to 0
    assert mulaw_encode(mulaw_decode(codes)) == codes


def test_mulaw_quantisation_error_is_logarithmic() -> None:
    pcm = np.arange(-32768, 32768, 7, dtype=np.int16)
    back = mulaw_decode(mulaw_encode(pcm)).astype(np.int32)
    err = np.abs(back - np.clip(pcm.astype(np.int32), -32636, 32636))
    assert np.all(err <= np.abs(pcm.astype(np.int32)) // 15 + 8)


def test_mulaw_matches_the_reference_codec_where_available() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    pcm = np.arange(-32768, 32768, 3, dtype=np.int16)
    assert mulaw_encode(pcm) == audioop.lin2ulaw(pcm.tobytes(), 2)
    codes = bytes(range(256))
    assert mulaw_decode(codes).tobytes() == audioop.ulaw2lin(codes, 2)


def test_mulaw_keeps_sign_and_silence() -> None:
    assert mulaw_decode(mulaw_encode(np.array([0, 1000, -1000], np.int16))).tolist()[0] == 0
    decoded = mulaw_decode(mulaw_encode(np.array([1000, -1000], np.int16)))
    assert decoded[0] > 900 and decoded[1] < -900


@pytest.mark.parametrize(("src", "dst", "freq"), [(8000, 16000, 1000), (16000, 8000, 1000), (22050, 16000, 3000),
                                                  (16000, 22050, 440), (22050, 8000, 2500), (8000, 22050, 3000)])
def test_resampling_keeps_in_band_tones(src: int, dst: int, freq: float) -> None:
    out = resample(_tone(freq, src), src, dst)
    assert abs(len(out) - len(_tone(freq, dst))) <= 1
    core = out[dst // 20 : -dst // 20]
    assert _level_at(core, dst, freq) == pytest.approx(0.5, abs=0.02)
    reference = _tone(freq, dst)[: len(out)][dst // 20 : -dst // 20]
    noise = core - _level_at(core, dst, freq) / 0.5 * reference
    assert 20 * np.log10(0.5 / np.sqrt(np.mean(noise**2)) / np.sqrt(2)) > 40  # SNR in dB


@pytest.mark.parametrize(("src", "dst", "freq"), [(16000, 8000, 5500), (22050, 8000, 6000), (22050, 16000, 9500)])
def test_downsampling_rejects_aliases(src: int, dst: int, freq: float) -> None:
    out = resample(_tone(freq, src), src, dst)
    alias = dst - freq if freq < dst else freq - dst
    assert _level_at(out[dst // 20 : -dst // 20], dst, alias) < 0.5 * 10 ** (-40 / 20)


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 8000), (16000, 22050), (48000, 8000)])
def test_streaming_resampler_equals_whole_signal(src: int, dst: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3000, src // 2).astype(np.float32)
    resampler, parts, i = StreamResampler(src, dst), [], 0
    while i < len(x):
        n = int(rng.integers(1, 400))
        parts.append(resampler.push(x[i : i + n]))
        i += n
    parts.append(resampler.flush())
    assert np.array_equal(np.concatenate(parts), resample(x, src, dst))
    assert len(resampler._buf) < 4 * resampler._half + 400  # history stays bounded


def test_resample_pcm16_clips_and_keeps_dtype() -> None:
    loud = np.array([32767, -32768] * 400, dtype=np.int16)
    out = resample_pcm16(loud, 16000, 8000)
    assert out.dtype == np.int16 and len(out) == 400
    assert resample_pcm16(loud, 8000, 8000) is not loud


def test_float_conversions() -> None:
    pcm = np.array([-32768, 0, 16384, 32767], np.int16)
    assert pcm16_to_float(pcm).tolist() == pytest.approx([-1.0, 0.0, 0.5, 32767 / 32768])
    assert float_to_pcm16(np.array([-2.0, 0.5, 2.0])).tolist() == [-32768, 16384, 32767]
    assert rms_dbfs(np.zeros(10, np.int16)) == float("-inf")
    assert rms_dbfs(np.full(10, 16384, np.int16)) == pytest.approx(-6.02, abs=0.01)


def test_wav_round_trips(tmp_path) -> None:
    pcm = float_to_pcm16(_tone(440, 16000, 0.2))
    write_wav(tmp_path / "a.wav", pcm, 16000)
    back = read_wav(tmp_path / "a.wav")
    assert back.sample_rate == 16000 and np.array_equal(back.samples, pcm)
    mulaw = decode_wav(encode_mulaw_wav(pcm, 8000))
    assert mulaw.sample_rate == 8000
    assert np.array_equal(mulaw.samples, mulaw_decode(mulaw_encode(pcm)))


def test_wav_with_streamed_sizes_and_stereo_is_read() -> None:
    """espeak-ng --stdout writes 0x7FFFFFFF sizes; stereo files are mixed down."""
    frames = np.array([[100, 300], [-100, -300]], np.int16).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 2, 22050, 22050 * 4, 4, 16)
    data = b"RIFF" + struct.pack("<I", 0x7FFFFFFF) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
    data += b"data" + struct.pack("<I", 0x7FFFFFFF) + frames
    audio = decode_wav(data)
    assert audio.sample_rate == 22050 and audio.samples.tolist() == [200, -200]


def test_bad_wav_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="RIFF"):
        decode_wav(b"not a wav file at all")
    header = encode_wav(np.zeros(4, np.int16), 8000)
    with pytest.raises(ValueError, match="unsupported"):
        decode_wav(header[:20] + struct.pack("<H", 3) + header[22:])
