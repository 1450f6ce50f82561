"""Jobs from one input to its files: ``render`` (media -> page and subtitles), ``restyle`` (an
analysis document -> page and subtitles, no model) and ``burn`` (media -> a subtitled video).

Each checks what can fail before the slow stages (the input, the output folder, the style file),
analyses through an ``Analyser`` (from the cache when it holds the analysis), and writes every
output atomically. ``render`` also keeps resume records: outputs already up to date for the same
input, models, settings and style are skipped.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .analyser import AnalysisOptions, Analyser, ProgressCallback, StageTimer, default_analyser
from .document import Analysis
from .analysis_cache import AnalysisCache, cache_key
from .constants import VERSION
from .transcription.transcribe import LANGUAGE_UNSURE_BELOW
from .errors import InputError, MediaError, OutputError
from .media import MediaInfo, probe
from .output.ass import to_ass
from .output.burn import burn_subtitles
from .output.paths import burned_path, check_outputs, output_paths, parse_formats
from .output.writers import write_all
from .style import Style

__all__ = ["OutputOptions", "RenderResult", "BurnResult", "render", "restyle", "burn"]

CacheArg = bool | str | os.PathLike | AnalysisCache | None


@dataclass(frozen=True)
class OutputOptions:
    """What to write and where: ``formats`` (any of html json vtt srt ass, or a comma-separated
    string), ``out`` (a path whose suffix becomes each format's, or an existing folder; default:
    beside the input) and ``embed_video`` (the media inside the page instead of linked)."""

    out: Path | None = None
    formats: tuple[str, ...] = ("html",)
    embed_video: bool = False

    def __post_init__(self) -> None:
        formats = self.formats if isinstance(self.formats, str) else ",".join(self.formats)
        object.__setattr__(self, "formats", parse_formats(formats))
        if self.out is not None:
            object.__setattr__(self, "out", Path(self.out))

    def paths(self, input_path: Path) -> dict[str, Path]:
        """One output path per format for ``input_path``."""
        return output_paths(input_path, self.out, self.formats)


@dataclass
class RenderResult:
    """What a render or restyle did with one input."""

    input: Path
    outputs: list[Path]
    duration: float  # seconds of media
    language: str
    n_words: int
    emotion_mix: dict[str, float]  # share of words per emotion, largest first
    stage_seconds: dict[str, float] = field(default_factory=dict)
    status: str = "rendered"  # "rendered", "restyled" (analysis from the cache or a document), "skipped"
    notes: list[str] = field(default_factory=list)  # things the user should know (cache not writable)

    @property
    def total_seconds(self) -> float:
        """Seconds spent in the stages."""
        return sum(self.stage_seconds.values())

    @property
    def realtime_factor(self) -> float:
        """Processing seconds per second of media (below 1: faster than real time)."""
        return self.total_seconds / self.duration if self.duration > 0 else 0.0


@dataclass
class BurnResult:
    """What ``burn`` wrote."""

    input: Path
    output: Path
    duration: float  # seconds of media
    n_words: int
    analysis_from: str  # "document", "cache" or "models"
    seconds: float  # wall time, analysis included


def _result(path: Path, analysis: Analysis, outputs: list[Path], seconds: dict, status: str,
            notes=()) -> RenderResult:
    words = analysis.words
    counts = Counter(w.emotion.emotion for w in words)
    mix = {label: round(k / len(words), 4) for label, k in counts.most_common()} if words else {}
    notes = list(notes) + list(analysis.notes)
    if analysis.language_probability < LANGUAGE_UNSURE_BELOW:
        notes.append(f"language {analysis.language!r} detected with probability {analysis.language_probability:.2f} "
                     f"(unsure): pass --language CODE if it is wrong")
    return RenderResult(input=path, outputs=outputs, duration=analysis.duration, language=analysis.language,
                        n_words=len(words), emotion_mix=mix, stage_seconds=dict(seconds), status=status,
                        notes=notes)


def _write(analysis: Analysis, paths: dict[str, Path], style: Style, media, embed: bool,
           timer: StageTimer) -> list[Path]:
    timer("page", 0.0)
    outputs = write_all(analysis, paths, style, media=media, embed=embed)
    timer("page", 1.0)
    return outputs


def render(path: str | os.PathLike, *, analyser: Analyser | None = None, options: AnalysisOptions | None = None,
           style: Style | None = None, output: OutputOptions | None = None, cache: CacheArg = True,
           force: bool = False, progress: ProgressCallback | None = None) -> RenderResult:
    """Analyse one media file and write its outputs; returns a ``RenderResult``.

    ``analyser``: whose models run (default: the shared one; pass one to reuse its models across
    files); ``options``, ``style``, ``output``: the analysis settings, the style and what to write.
    ``cache`` (as for ``Analyser.analyse``, default on): the analysis is reused, and outputs up to
    date for the same input, models, settings and style are skipped unless ``force``.
    ``progress(stage, fraction)`` hears the analysis stages, then "page".
    """
    path, analyser = Path(path), analyser or default_analyser()
    options, style, output = options or AnalysisOptions(), style or Style(), output or OutputOptions()
    info = probe(path)
    paths = output.paths(path)
    check_outputs(paths, path, output.out)
    style.check()  # a bad style file or profile fails before any model
    cache = AnalysisCache.of(cache)
    if cache:
        render_key = cache_key({"analysis": analyser.cache_key(path, options, cache), "input": str(path.resolve()),
                                **style.identity(), "outputs": {f: str(p.resolve()) for f, p in paths.items()},
                                "embed": output.embed_video, "version": VERSION})
        if not force and cache.up_to_date(list(paths.values()), render_key):
            return RenderResult(input=path, outputs=list(paths.values()), duration=info.duration, language="",
                                n_words=0, emotion_mix={}, status="skipped")
    timer = StageTimer(progress)
    analysis = analyser.analyse(info, language=options.language, window=options.window, hop=options.hop,
                                progress=timer, cache=cache)
    status = "rendered" if timer.seconds else "restyled"  # no stage ran: the analysis was cached
    if cache:
        cache.begin_outputs(list(paths.values()), render_key)
    outputs = _write(analysis, paths, style, info, output.embed_video, timer)
    return _result(path, analysis, outputs, timer.seconds, status, cache.notes if cache else ())


def restyle(document: str | os.PathLike, *, style: Style | None = None, output: OutputOptions | None = None,
            media: str | os.PathLike | None = None, progress: ProgressCallback | None = None) -> RenderResult:
    """Write outputs from an analysis document alone (no model runs); returns a ``RenderResult``.
    The page plays ``media`` or, when it exists, the file the document names beside it."""
    document, style, output = Path(document), style or Style(), output or OutputOptions()
    analysis = Analysis.load(document)
    if media is not None and not Path(media).is_file():
        raise InputError(f"{media}: no such file")
    beside = document.parent / Path(analysis.source).name  # a name, never a path from the document
    media = Path(media) if media is not None else (beside if beside.is_file() else None)
    notes = [] if media else [f"{beside.name} is not beside {document.name}: the page has no media (use --media)"]
    paths = output.paths(document)
    check_outputs(paths, document, output.out)
    style.check()
    timer = StageTimer(progress)
    outputs = _write(analysis, paths, style, media, output.embed_video, timer)
    return _result(document, analysis, outputs, timer.seconds, "restyled", notes)


def burn(path: str | os.PathLike, *, analyser: Analyser | None = None, options: AnalysisOptions | None = None,
         style: Style | None = None, out: str | os.PathLike | None = None,
         analysis: Analysis | str | os.PathLike | None = None, cache: CacheArg = True,
         progress: ProgressCallback | None = None) -> BurnResult:
    """Write a copy of the video at ``path`` with its styled subtitles burned into the picture
    (``<stem>.subtitled<suffix>`` beside it, or ``out``); returns a ``BurnResult``. The analysis
    is ``analysis`` (an Analysis or a document), else the cache's or the models'."""
    started = time.perf_counter()
    path, style = Path(path), style or Style()
    options = options or AnalysisOptions()
    info: MediaInfo = probe(path)
    if not info.has_video:
        raise MediaError(f"{path} has no video stream: there is no picture to burn subtitles into")
    target = burned_path(path, Path(out) if out is not None else None)
    if not target.suffix:
        raise OutputError(f"{target} has no extension: name the video file, e.g. {target.name}.mp4")
    check_outputs({"video": target}, path)
    style.check()
    if analysis is not None:
        analysis, source = analysis if isinstance(analysis, Analysis) else Analysis.load(analysis), "document"
    else:
        timer = StageTimer(progress)
        analysis = (analyser or default_analyser()).analyse(info, language=options.language, window=options.window,
                                                             hop=options.hop, progress=timer, cache=cache)
        source = "models" if timer.seconds else "cache"
    if progress:
        progress("burn", 0.0)
    burn_subtitles(info, to_ass(analysis, style, info.size), target,
                   (lambda f: progress("burn", f)) if progress else None)
    if progress:
        progress("burn", 1.0)
    return BurnResult(input=path, output=target, duration=analysis.duration, n_words=len(analysis.words),
                      analysis_from=source, seconds=time.perf_counter() - started)
