"""Where outputs go, checked before any model runs: one path per format from ``--out`` (or the
input), the burned video's name, and a probe that each folder really takes a new file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..constants import AUDIO_EXTENSIONS, FORMATS
from ..errors import OutputError, UsageError

__all__ = ["parse_formats", "names_folder", "output_paths", "burned_path", "check_outputs"]


def parse_formats(text: str) -> tuple[str, ...]:
    """``"html,vtt"`` -> ``("html", "vtt")`` in FORMATS order; a UsageError names a bad one."""
    wanted = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(wanted - set(FORMATS))
    if unknown:
        raise UsageError(f"unknown format {', '.join(unknown)}: use a comma-separated list of {', '.join(FORMATS)}")
    if not wanted:
        raise UsageError(f"no format given: use a comma-separated list of {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in wanted)


def names_folder(out: str | os.PathLike | None) -> bool:
    """Whether ``out`` as typed ends with a path separator (``newdir/``): a folder, made if missing."""
    return out is not None and str(out).endswith(("/", os.sep))


def output_paths(input_path: Path, out: Path | None, formats: tuple[str, ...], folder: bool = False) -> dict[str, Path]:
    """One path per format, in FORMATS order: ``out`` (or the input), its suffix replaced by
    the format's.

    ``out`` may be a folder (an existing one, or any with ``folder``: the input's name goes in
    it); a suffix that is one of FORMATS is replaced (``talk.html`` -> ``talk.vtt``), any other
    is kept (``talk.v2.vtt``).
    """
    input_path = Path(input_path)
    base = Path(out) if out else input_path.with_suffix("")
    if base.is_dir() or (out and folder):
        base = base / input_path.stem
    elif base.suffix.lower().lstrip(".") in FORMATS:
        base = base.with_suffix("")
    return {fmt: base.with_name(f"{base.name}.{fmt}") for fmt in FORMATS if fmt in formats}


def burned_path(input_path: Path, out: Path | None = None, label: str = "") -> Path:
    """Where ``burn`` writes: ``out``, a file in ``out`` when it is a folder, or
    ``<stem>[.<label>].subtitled<suffix>`` beside the input (``label``: the range, e.g. "5s-20s";
    the suffix of an audio input becomes .mp4)."""
    input_path = Path(input_path)
    suffix = input_path.suffix if input_path.suffix and input_path.suffix.lower() not in AUDIO_EXTENSIONS else ".mp4"
    name = f"{input_path.stem}{'.' + label if label else ''}.subtitled{suffix}"
    if out is None:
        return input_path.with_name(name)
    return Path(out) / name if Path(out).is_dir() or names_folder(out) else Path(out)


def check_outputs(paths: dict[str, Path], input_path: Path, out: Path | None = None, folder: bool = False) -> None:
    """Fail now, not after minutes of models: each folder must exist and take a new file.
    ``out`` (the user's --out) naming the input itself is refused too, whatever it would become;
    with ``folder`` (``--out newdir/``) the folder ``out`` is made when missing."""
    if out is not None and folder and not Path(out).is_dir():
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot make folder {out}: {exc.strerror or exc}") from None
    for path in [*paths.values(), *([Path(out)] if out is not None else [])]:
        if path.exists() and path.resolve() == Path(input_path).resolve():
            raise OutputError(f"{path} is the input file: choose another output path with --out")
    for path in paths.values():
        if path.is_dir():
            raise OutputError(f"{path} is a directory")
    first = next(iter(paths.values()))
    for parent in {p.parent for p in paths.values()}:
        if not parent.is_dir():
            raise OutputError(f"cannot write {first}: folder {parent} does not exist")
        for stale in parent.glob(".sentimentogram-*.part"):  # probes of a run killed right here
            try:
                stale.unlink(missing_ok=True)
            except OSError:
                pass
        try:  # os.access says yes to root even on read-only or virtual file systems: really try
            fd, probe_file = tempfile.mkstemp(prefix=".sentimentogram-", suffix=".part", dir=parent)
        except OSError as exc:
            raise OutputError(f"cannot write {first}: {exc.strerror or exc}") from None
        os.close(fd)
        Path(probe_file).unlink(missing_ok=True)
