"""Many inputs in one run: finding them (files, folders, globs), the loop, and its report.

Models are loaded once for the whole batch. An input that fails is reported and the batch goes
on; the exit status says whether any failed (their own typed status when they all share one).
Rerunning a batch skips the inputs whose outputs are up to date (see ``analysis_cache``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .analyser import AnalysisOptions, Analyser
from .constants import AUDIO_EXTENSIONS
from .errors import ExitStatus, InputError, OutputError, SentimentogramError, as_error
from .jobs import CacheArg, OutputOptions, render
from .style import Style

__all__ = ["VIDEO_EXTENSIONS", "MEDIA_EXTENSIONS", "BatchInput", "BatchEntry", "BatchReport", "BatchFailed",
           "discover_inputs", "is_single_file", "claim_outputs", "render_entry", "run_batch"]

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
                    ".m2ts", ".flv", ".wmv", ".3gp", ".ogv")
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS + AUDIO_EXTENSIONS
_GLOB = re.compile(r"[*?\[]")


@dataclass
class BatchInput:
    name: str  # the file found, or the argument that found nothing
    path: Path | None
    error: SentimentogramError | None = None  # set when the argument itself failed


@dataclass
class BatchEntry:
    name: str
    status: Literal["rendered", "restyled", "skipped", "failed"]
    duration: float = 0.0  # seconds of media
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0  # wall time for this input
    error: str = ""
    exit_status: int = ExitStatus.SUCCESS
    notes: list[str] = field(default_factory=list)  # what the user should know (unsure language, dropped decodes)


class BatchFailed(SentimentogramError):
    """Some inputs of a batch failed: the exit status is theirs when they share one."""

    def __init__(self, report: "BatchReport"):
        n = len(report.failed)
        super().__init__(f"{n} of {len(report.entries)} input{'s' if len(report.entries) > 1 else ''} failed")
        self.exit_status = ExitStatus(report.exit_status)


@dataclass
class BatchReport:
    entries: list[BatchEntry]

    @property
    def failed(self) -> list[BatchEntry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def exit_status(self) -> int:
        """0 when all went well; the failures' own status when they share one; else 1."""
        codes = {e.exit_status for e in self.failed}
        if not codes:
            return ExitStatus.SUCCESS
        return codes.pop() if len(codes) == 1 else ExitStatus.ERROR


def _is_media(name: str) -> bool:
    # Hidden files include our own temporaries; burned copies are outputs, not talks to render.
    return name.lower().endswith(MEDIA_EXTENSIONS) and not name.startswith(".") and ".subtitled." not in name


def _media_in(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):  # symlinked folders are not followed: no loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in sorted(files) if _is_media(f)]
    return found


def discover_inputs(args: Sequence[str]) -> list[BatchInput]:
    """Files as given; folders searched recursively for audio and video; globs expanded
    (``**`` included). Each file once, in the order found."""
    import glob

    items: list[BatchInput] = []
    seen: set[Path] = set()
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = _media_in(path)
            if not found:
                items.append(BatchInput(arg, None, InputError(f"{arg}: no audio or video files in this folder")))
        elif path.exists() or not _GLOB.search(arg):
            found = [path]  # a missing file fails when it is rendered, with its own message
        else:
            matches = [Path(m) for m in sorted(glob.glob(arg, recursive=True))]
            found = [f for m in matches for f in (_media_in(m) if m.is_dir() else [m])]
            if not found:
                items.append(BatchInput(arg, None, InputError(f"{arg}: no file matches")))
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                items.append(BatchInput(str(f), f))
    return items


def is_single_file(args: Sequence[str]) -> bool:
    """One plain file argument: rendered as before, its error raised rather than tabled."""
    return len(args) == 1 and not Path(args[0]).is_dir() and (Path(args[0]).exists() or not _GLOB.search(args[0]))


def claim_outputs(items: Sequence[BatchInput], output: OutputOptions | None = None) -> list[BatchInput]:
    """``items`` with an error set on each whose outputs an earlier input already writes (the first
    keeps them); OutputError when several inputs share one ``--out`` that is not a folder. Every
    backend (this process, a Ray cluster) checks a batch this way before any input runs."""
    output = output or OutputOptions()
    runnable = [item for item in items if item.error is None]
    if output.out is not None and len(runnable) > 1 and not (output.out.is_dir() or output.folder):
        raise OutputError(f"--out {output.out} must be an existing folder (or end it with / to have it made) "
                          f"when rendering {len(runnable)} inputs")
    claimed: dict[Path, str] = {}
    planned = []
    for item in items:
        if item.error is None:
            assert item.path is not None  # an input without an error was found on disk
            try:
                paths = output.paths(item.path)
                for p in paths.values():
                    if p.resolve() in claimed:
                        raise OutputError(f"{p} is also the output of {claimed[p.resolve()]}: "
                                          "render them into different folders")
                claimed.update({p.resolve(): item.name for p in paths.values()})
            except Exception as exc:
                item = BatchInput(item.name, item.path, as_error(exc))
        planned.append(item)
    return planned


def render_entry(item: BatchInput, *, analyser: Analyser, progress=None, **render_args) -> BatchEntry:
    """``render`` one input of a batch (``render_args``: its options, style, output, cache and
    force) and say how it went; any failure, even an unexpected one, becomes a failed entry."""
    started = time.perf_counter()
    try:
        if item.error is not None or item.path is None:
            raise item.error or InputError(f"{item.name}: not found")
        result = render(item.path, analyser=analyser, progress=progress, **render_args)
        entry = BatchEntry(item.name, result.status, result.duration, result.outputs, notes=list(result.notes))
    except Exception as exc:  # a bug must not cost the rest of the batch
        error = as_error(exc)
        entry = BatchEntry(item.name, "failed", error=str(error), exit_status=error.exit_status)
    entry.seconds = time.perf_counter() - started
    return entry


def run_batch(items: Sequence[BatchInput], analyser: Analyser, *, options: AnalysisOptions | None = None,
              style: Style | None = None, output: OutputOptions | None = None, cache: CacheArg = True,
              force: bool = False, progress_for: Callable[[int, BatchInput], AbstractContextManager] | None = None,
              on_done: Callable[[BatchEntry], None] | None = None) -> BatchReport:
    """``render`` every input with one ``analyser`` (its models load once); returns the report.

    ``options``, ``style``, ``output``, ``cache`` and ``force`` are ``render``'s. ``progress_for(i,
    item)`` gives a context whose value is that input's progress callback; ``on_done`` hears of
    each input at its end. An input that fails, even unexpectedly, is reported and the rest go on.
    (``distributed.render_on_ray`` is the same over a Ray cluster.)
    """
    settings: dict[str, Any] = dict(analyser=analyser, options=options, style=style, output=output, cache=cache,
                                    force=force)
    entries = []
    for i, item in enumerate(claim_outputs(items, output)):
        with (progress_for(i, item) if progress_for and item.error is None else nullcontext(None)) as progress:
            entry = render_entry(item, progress=progress, **settings)
        entries.append(entry)
        if on_done:
            on_done(entry)
    return BatchReport(entries)

