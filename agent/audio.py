"""Audio helpers in plain numpy: G.711 μ-law, windowed-sinc resampling, PCM16 conversion, WAV I/O."""

from __future__ import annotations

import io
import math
import struct
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float32]

_MULAW_BIAS = 0x84
WAVE_FORMAT_PCM = 1
WAVE_FORMAT_MULAW = 7


# --- G.711 μ-law -------------------------------------------------------------------------------------


def mulaw_encode(pcm: Int16Array) -> bytes:
    """16-bit linear PCM to G.711 μ-law bytes (bit-exact with the classic Sun/CCITT reference codec)."""
    x = np.asarray(pcm, dtype=np.int32) >> 2  # 14-bit, floor as the reference does
    mask = np.where(x < 0, 0x7F, 0xFF)
    x = np.minimum(np.abs(x), 8159) + 33
    seg = np.maximum(0, np.floor(np.log2(x)).astype(np.int32) - 5)
    uval = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((x >> (np.minimum(seg, 7) + 1)) & 0x0F))
    return (uval ^ mask).astype(np.uint8).tobytes()


def _mulaw_decode_table() -> Int16Array:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


_MULAW_DECODE = _mulaw_decode_table()


def mulaw_decode(data: bytes) -> Int16Array:
    """G.711 μ-law bytes to 16-bit linear PCM."""
    return _MULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


# --- PCM16 -------------------------------------------------------------------------------------------


def pcm16_to_float(pcm: Int16Array) -> FloatArray:
    """int16 samples to float32 in [-1, 1)."""
    return (np.asarray(pcm, dtype=np.float32) / 32768.0).astype(np.float32)


def float_to_pcm16(samples: npt.NDArray[np.floating]) -> Int16Array:
    """float samples in [-1, 1] to int16, clipped."""
    scaled = np.round(np.asarray(samples, dtype=np.float64) * 32767.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def pcm16_from_bytes(data: bytes) -> Int16Array:
    """Little-endian 16-bit PCM bytes to int16 samples (a trailing odd byte is dropped)."""
    return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.int16)


def rms_dbfs(pcm: Int16Array) -> float:
    """Root-mean-square level in dBFS (-inf for silence)."""
    if len(pcm) == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
    return 20 * math.log10(rms / 32768.0) if rms > 0 else float("-inf")


# --- Resampling (polyphase windowed sinc) ------------------------------------------------------------

_HALF_TAPS = 16  # zero crossings each side at the lower of the two rates
_KAISER_BETA = 8.6
_BLOCK = 8192


@lru_cache(maxsize=32)
def _polyphase_table(up: int, down: int) -> tuple[npt.NDArray[np.float32], int]:
    """Filter taps per output phase; row p is applied at input offsets -(half-1)..half."""
    cutoff = min(1.0, up / down) * 0.97
    half = math.ceil(_HALF_TAPS / cutoff)
    offsets = np.arange(-(half - 1), half + 1, dtype=np.float64)
    phases = np.arange(up, dtype=np.float64)[:, None] / up
    u = phases - offsets[None, :]
    window = np.kaiser(2 * half + 1, _KAISER_BETA)
    w = np.interp(u, np.arange(-half, half + 1, dtype=np.float64), window, left=0.0, right=0.0)
    taps = cutoff * np.sinc(cutoff * u) * w
    return taps.astype(np.float32), half


class StreamResampler:
    """Chunk-by-chunk band-limited resampling carrying filter history across chunks.

    `push` returns what can be computed so far and `flush` the tail; their concatenation equals the
    whole-signal `resample`, so a call's audio can be converted frame by frame without edge clicks.
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        g = math.gcd(src_rate, dst_rate)
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._up, self._down = dst_rate // g, src_rate // g
        self._taps, self._half = _polyphase_table(self._up, self._down)
        self._buf = np.zeros(self._half, np.float32)  # padded coordinates start at buf_off
        self._buf_off = 0
        self._n_in = 0
        self._n_out = 0

    def push(self, samples: npt.NDArray[np.generic]) -> FloatArray:
        """Resample the next chunk (float or int16 scale kept); may return fewer samples than the ratio."""
        x = np.asarray(samples, dtype=np.float32)
        if self._up == self._down:
            return x.copy()
        self._buf = np.concatenate([self._buf, x])
        self._n_in += len(x)
        return self._produce(final=False)

    def flush(self) -> FloatArray:
        """The remaining output once the input has ended."""
        if self._up == self._down:
            return np.zeros(0, np.float32)
        self._buf = np.concatenate([self._buf, np.zeros(self._half + 1, np.float32)])
        return self._produce(final=True)

    def _produce(self, *, final: bool) -> FloatArray:
        up, down, half = self._up, self._down, self._half
        total = (self._n_in * up) // down
        limit = total if final else -(-(self._n_in - half) * up // down)  # outputs whose window is complete
        n_end = max(self._n_out, min(total, limit))
        out = self._compute(np.arange(self._n_out, n_end, dtype=np.int64))
        self._n_out = n_end
        keep_from = (n_end * down) // up + 1 - self._buf_off
        if keep_from > 0:
            self._buf, self._buf_off = self._buf[keep_from:], self._buf_off + keep_from
        return out

    def _compute(self, ns: npt.NDArray[np.int64]) -> FloatArray:
        pos = ns * self._down
        local, phase = pos // self._up - self._buf_off, pos % self._up
        span = np.arange(1, 2 * self._half + 1)[None, :]
        out = np.empty(len(ns), dtype=np.float32)
        for start in range(0, len(ns), _BLOCK):  # blocks bound the gathered matrix's memory
            stop = min(len(ns), start + _BLOCK)
            rows = self._buf[local[start:stop, None] + span]
            out[start:stop] = np.einsum("ij,ij->i", rows, self._taps[phase[start:stop]])
        return out


def resample(samples: npt.NDArray[np.generic], src_rate: int, dst_rate: int) -> FloatArray:
    """Band-limited resampling of a whole float or int16 signal; returns float32 in the input's scale."""
    x = np.asarray(samples, dtype=np.float32)
    if src_rate == dst_rate or len(x) == 0:
        return x.copy()
    resampler = StreamResampler(src_rate, dst_rate)
    return np.concatenate([resampler.push(x), resampler.flush()])


def resample_pcm16(pcm: Int16Array, src_rate: int, dst_rate: int) -> Int16Array:
    """Resample int16 samples, rounding and clipping back to int16."""
    if src_rate == dst_rate:
        return np.asarray(pcm, dtype=np.int16).copy()
    out = resample(pcm, src_rate, dst_rate)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


# --- WAV ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WavAudio:
    """Mono int16 samples and their rate."""

    samples: Int16Array
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


class WavError(ValueError):
    """The bytes are not a WAV file this module can read."""


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """RIFF chunks by id; a `data` chunk with a bogus (streamed) size runs to the end of the file."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        chunks.setdefault(cid, body)
        if cid == b"data":
            break
        pos += 8 + size + (size & 1)
    return chunks


def _decode_samples(fmt_tag: int, bits: int, body: bytes) -> Int16Array:
    if fmt_tag == WAVE_FORMAT_MULAW and bits == 8:
        return mulaw_decode(body)
    if fmt_tag in (WAVE_FORMAT_PCM, 0xFFFE) and bits == 16:
        return pcm16_from_bytes(body)
    if fmt_tag == WAVE_FORMAT_PCM and bits == 8:
        return ((np.frombuffer(body, np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    raise WavError(f"unsupported WAV encoding (format {fmt_tag}, {bits} bits)")


def _downmix(samples: Int16Array, channels: int) -> Int16Array:
    if channels <= 1:
        return samples
    frames = samples[: len(samples) - len(samples) % channels].reshape(-1, channels)
    mixed: Int16Array = frames.astype(np.int32).mean(axis=1).astype(np.int16)
    return mixed


def decode_wav(data: bytes) -> WavAudio:
    """Parse WAV bytes (PCM 8/16-bit or μ-law, any channel count, streamed sizes accepted) to mono int16."""
    chunks = _chunks(data)
    fmt, body = chunks.get(b"fmt "), chunks.get(b"data")
    if fmt is None or len(fmt) < 16 or body is None:
        raise WavError("WAV file without fmt or data chunk")
    fmt_tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    samples = _downmix(_decode_samples(fmt_tag, bits, body), channels)
    return WavAudio(samples=samples, sample_rate=rate)


def read_wav(path: str | Path) -> WavAudio:
    """Read a WAV file as mono int16 samples."""
    return decode_wav(Path(path).read_bytes())


def encode_wav(samples: Int16Array, sample_rate: int) -> bytes:
    """Mono 16-bit PCM WAV bytes."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(sample_rate)
        wf.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return buf.getvalue()


def write_wav(path: str | Path, samples: Int16Array, sample_rate: int) -> None:
    """Write mono 16-bit PCM WAV."""
    Path(path).write_bytes(encode_wav(samples, sample_rate))


def encode_mulaw_wav(samples: Int16Array, sample_rate: int = 8000) -> bytes:
    """Mono G.711 μ-law WAV bytes (format 7), as telephony tools write them."""
    body = mulaw_encode(samples)
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_MULAW, 1, sample_rate, sample_rate, 1, 8) + b"\0\0"
    fact = struct.pack("<I", len(body))
    parts = [b"fmt ", struct.pack("<I", len(fmt)), fmt, b"fact", struct.pack("<I", 4), fact]
    parts += [b"data", struct.pack("<I", len(body)), body, b"\0" * (len(body) & 1)]
    payload = b"WAVE" + b"".join(parts)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload
