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
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from .analyser import AnalysisOptions, Analyser, ProgressCallback, StageTimer, default_analyser
from .document import Analysis
from .analysis_cache import AnalysisCache, cache_key
from .captions import CaptionRules, cues_for
from .constants import SAMPLE_RATE, VERSION
from .transcription.transcribe import LANGUAGE_UNSURE_BELOW
from .errors import InputError, OutputError
from .media import MediaInfo, decode_audio, probe
from .output.ass import to_ass
from .output.burn import Picture, burn_subtitles, check_fonts, image_size
from .output.layout import caption_layout, output_frame
from .output.paths import burned_path, check_outputs, names_folder, output_paths, parse_formats
from .output.subtitles import caption_rules_for
from .output.writers import write_all
from .ranges import TimeRange, trim_analysis
from .style import Style

__all__ = ["OutputOptions", "RenderResult", "BurnResult", "RenderStatus", "BurnStatus", "AnalysisSource", "render",
           "restyle", "burn"]

RenderStatus = Literal["rendered", "restyled", "skipped"]  # restyled: the analysis came from the cache or a document
BurnStatus = Literal["burned", "skipped"]  # skipped: the video was up to date
AnalysisSource = Literal["document", "cache", "models", ""]  # "" when a burn was skipped

CacheArg = bool | str | os.PathLike | AnalysisCache | None


@dataclass(frozen=True)
class OutputOptions:
    """What to write and where: ``formats`` (any of html json vtt srt ass, or a comma-separated
    string), ``out`` (a path whose suffix becomes each format's, or a folder: an existing one, or
    one written with a trailing separator, ``"newdir/"``, made when missing; default: beside the
    input) and ``embed_video`` (the media inside the page instead of linked)."""

    out: Path | None = None
    formats: tuple[str, ...] = ("html",)
    embed_video: bool = False
    reading_speed: float | None = None  # captions' characters a second (default: the style's age group's)
    folder: bool = False  # out is a folder (set by a trailing separator in out)

    def __post_init__(self) -> None:
        formats = self.formats if isinstance(self.formats, str) else ",".join(self.formats)
        object.__setattr__(self, "formats", parse_formats(formats))
        if self.reading_speed is not None:
            CaptionRules(max_cps=self.reading_speed)  # a bad reading speed fails here (UsageError)
        if self.out is not None:
            object.__setattr__(self, "folder", self.folder or names_folder(self.out))
            object.__setattr__(self, "out", Path(self.out))

    def paths(self, input_path: Path) -> dict[str, Path]:
        """One output path per format for ``input_path``."""
        return output_paths(input_path, self.out, self.formats, self.folder)


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
    status: RenderStatus = "rendered"
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
    analysis_from: AnalysisSource
    seconds: float  # wall time, analysis included
    status: BurnStatus = "burned"  # "skipped": up to date (burn --force encodes it again)
    size: tuple[int, int] = (0, 0)  # the video's width and height
    notes: list[str] = field(default_factory=list)


def _result(path: Path, analysis: Analysis, outputs: list[Path], seconds: dict, status: RenderStatus,
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
           timer: StageTimer, reading_speed: float | None = None) -> list[Path]:
    # The captions every output shows, recorded in the document too: the analysis' own cues when
    # cut by these rules, else cut now (another age group or reading speed; no model runs).
    rules = caption_rules_for(style, reading_speed)
    analysis.cues, analysis.caption_rules = cues_for(analysis, rules), rules.to_dict()
    timer("page", 0.0)
    outputs = write_all(analysis, paths, style, media=media, embed=embed,
                        rules=rules if reading_speed is not None else None)
    timer("page", 1.0)
    return outputs


def render(path: str | os.PathLike, *, analyser: Analyser | None = None, options: AnalysisOptions | None = None,
           style: Style | None = None, output: OutputOptions | None = None, cache: CacheArg = True,
           force: bool = False, progress: ProgressCallback | None = None,
           span: TimeRange | None = None) -> RenderResult:
    """Analyse one media file and write its outputs; returns a ``RenderResult``.

    ``analyser``: whose models run (default: the shared one; pass one to reuse its models across
    files); ``options``, ``style``, ``output``: the analysis settings, the style and what to write.
    ``cache`` (as for ``Analyser.analyse``, default on): the analysis is reused, and outputs up to
    date for the same input, models, settings and style are skipped unless ``force``.
    ``progress(stage, fraction)`` hears the analysis stages, then "page". ``span``: only the words
    of that range (on the recording's own clock, so the page plays the file as it is), in outputs
    named after it (``talk.1m5s-1m20s.html``); the analysis of the whole file is cached and reused.
    """
    path, analyser = Path(path), analyser or default_analyser()
    options, style, output = options or AnalysisOptions(), style or Style(), output or OutputOptions()
    info = probe(path)
    span = span or TimeRange()
    span.check_inside(info.duration, path.name)
    paths = output.paths(path.with_name(f"{path.stem}.{span.label}{path.suffix}") if span.label else path)
    check_outputs(paths, path, output.out, output.folder)
    style.check()  # a bad style file or profile fails before any model
    cache = AnalysisCache.of(cache)
    if cache:
        render_key = cache_key({"analysis": analyser.cache_key(path, options, cache), "input": str(path.resolve()),
                                **style.identity(), "outputs": {f: str(p.resolve()) for f, p in paths.items()},
                                "embed": output.embed_video, "range": [span.start, span.end], "reading_speed": output.reading_speed,
                                "version": VERSION})
        if not force and cache.up_to_date(list(paths.values()), render_key):
            return RenderResult(input=path, outputs=list(paths.values()), duration=info.duration, language="",
                                n_words=0, emotion_mix={}, status="skipped")
    timer = StageTimer(progress)
    analysis = analyser.analyse(info, options, progress=timer, cache=cache)
    analysis = trim_analysis(analysis, span, shift=False)
    status: RenderStatus = "rendered" if timer.seconds else "restyled"  # no stage ran: the analysis was cached
    if cache:
        cache.begin_outputs(list(paths.values()), render_key)
    outputs = _write(analysis, paths, style, info, output.embed_video, timer, output.reading_speed)
    if cache:
        cache.finish_outputs(list(paths.values()), render_key)
    return _result(path, analysis, outputs, timer.seconds, status, [*style.notes(), *(cache.notes if cache else ())])


def restyle(document: str | os.PathLike, *, style: Style | None = None, output: OutputOptions | None = None,
            media: str | os.PathLike | None = None, progress: ProgressCallback | None = None,
            speaker_names: dict[str, str] | None = None) -> RenderResult:
    """Write outputs from an analysis document alone (no model runs); returns a ``RenderResult``.
    The page plays ``media`` or, when it exists, the file the document names beside it.
    ``speaker_names`` ({"A": "Host"}) names the speakers the analysis found."""
    document, style, output = Path(document), style or Style(), output or OutputOptions()
    analysis = Analysis.load(document)
    if speaker_names:
        from .speakers import rename_speakers

        analysis = rename_speakers(analysis, speaker_names)
    if media is not None and not Path(media).is_file():
        raise InputError(f"{media}: no such file")
    beside = document.parent / Path(analysis.source).name  # a name, never a path from the document
    media = Path(media) if media is not None else (beside if beside.is_file() else None)
    notes = [] if media else [f"{beside.name} is not beside {document.name}: the page has no media (use --media)"]
    paths = output.paths(document)
    check_outputs(paths, document, output.out, output.folder)
    style.check()
    timer = StageTimer(progress)
    outputs = _write(analysis, paths, style, media, output.embed_video, timer, output.reading_speed)
    return _result(document, analysis, outputs, timer.seconds, "restyled", [*notes, *style.notes()])


def _burn_key(path: Path, analysis_identity: str, style: Style, picture: Picture, layout, target: Path,
              cache: AnalysisCache) -> str:
    """What a burned video depends on: input bytes, analysis, style, frame, layout, range, backdrop."""
    backdrop = picture.backdrop if picture.backdrop == "waveform" else cache.content_hash(Path(picture.backdrop))
    return cache_key({"burn": analysis_identity, "input": cache.content_hash(path), **style.identity(),
                      "frame": [picture.frame.width, picture.frame.height, picture.frame.filter],
                      "layout": asdict(layout), "range": [picture.start, picture.duration], "backdrop": backdrop,
                      "preset": picture.preset, "target": str(target.resolve()), "version": VERSION})


def _range_analysis(analyser: Analyser, info: MediaInfo, span: TimeRange, options: AnalysisOptions,
                    timer: StageTimer, cache) -> Analysis:
    """The analysis of the range alone (its own clock): its audio cut from the decoded recording."""
    audio = decode_audio(info.path)
    first = int(span.start * SAMPLE_RATE)
    stop = len(audio) if span.end is None else int(span.end * SAMPLE_RATE)
    if stop - first < SAMPLE_RATE // 10:
        raise InputError(f"{info.path}: the range {span.label} holds no audio")
    analysis = analyser.analyse(audio[first:stop], options, progress=timer, cache=cache, sample_rate=SAMPLE_RATE)
    analysis.source, analysis.media_kind = info.path.name, info.kind
    return analysis


def burn(path: str | os.PathLike, *, analyser: Analyser | None = None, options: AnalysisOptions | None = None,
         style: Style | None = None, output: str | os.PathLike | None = None,
         analysis: Analysis | str | os.PathLike | None = None, cache: CacheArg = True,
         progress: ProgressCallback | None = None, aspect: str = "source", fill: str = "blur",
         position: str = "bottom", size: float | None = None, margin: str | None = None,
         span: TimeRange | None = None, backdrop: str | os.PathLike = "waveform", force: bool = False,
         preset: str = "veryfast", out: str | os.PathLike | None = None) -> BurnResult:
    """Write a copy of the video (or, for audio, a waveform or still picture) at ``path`` with
    its styled subtitles burned into the picture (``<stem>[.<range>].subtitled<suffix>`` beside
    it, or ``output``: a file, or a folder when it exists or ends with a separator); returns a
    ``BurnResult``. (``out=``, the last release's name for ``output=``, still works, with a
    DeprecationWarning.)

    The analysis is ``analysis`` (an Analysis or a document), else the cache's or the models'.
    ``aspect`` (source, 16:9, 9:16, 1:1) and ``fill`` (blur, crop) make the frame; ``position``,
    ``size`` and ``margin`` override its safe area (``output.layout``). ``span``: a range of the
    input only (a cached analysis of the whole input is cut to it, else the range alone is
    analysed). With a cache, a video up to date for the same inputs is kept unless ``force``.
    """
    started = time.perf_counter()
    if out is not None:
        warnings.warn("burn(out=) is deprecated and goes in the next release: pass output=", DeprecationWarning,
                      stacklevel=2)
    out = output if output is not None else out
    path, style = Path(path), style or Style()
    options, span = options or AnalysisOptions(), span or TimeRange()
    info: MediaInfo = probe(path)
    span.check_inside(info.duration, path.name)
    target = burned_path(path, Path(out) if out is not None else None, span.label)
    if not target.suffix:
        raise OutputError(f"{target} has no extension: name the video file, e.g. {target.name}.mp4")
    check_outputs({"video": target}, path)
    style.check()
    picture_size = info.size
    if not info.has_video and backdrop != "waveform":
        picture_size = image_size(backdrop) if Path(backdrop).is_file() else None
        if picture_size is None:
            raise InputError(f"--backdrop {backdrop}: not an image file (or use waveform)")
    frame = output_frame(picture_size if info.has_video or backdrop != "waveform" else None, aspect, fill)
    layout = caption_layout(frame.width, frame.height, position=position, size=size, margin=margin)
    picture = Picture(frame, span.start, None if span.end is None else span.end - span.start,
                      backdrop if backdrop == "waveform" else Path(backdrop), preset)
    choice = style.font_choice
    extra_fonts = [choice.file] if choice is not None and choice.file is not None else []
    # Every family the style can give a word is in its style lines: libass is asked now, before any model.
    check_fonts(to_ass(Analysis(path.name, info.kind, 0.0, "", [], []), style, layout=layout), extra_fonts)
    cache = AnalysisCache.of(cache)
    document = analysis if analysis is not None and not isinstance(analysis, Analysis) else None
    if isinstance(analysis, Analysis):
        identity = cache_key({"analysis": analysis.to_json()})
    elif document is not None:
        if not Path(document).is_file():
            raise InputError(f"{document}: no such analysis document")
        identity = cache.content_hash(Path(document)) if cache else ""
    analyser = analyser or (default_analyser() if analysis is None else None)
    if analysis is None and cache:
        assert analyser is not None  # made just above when there is no analysis
        identity = analyser.cache_key(path, options, cache)
    key = _burn_key(path, identity, style, picture, layout, target, cache) if cache else None
    if key and cache and not force and cache.up_to_date([target], key):
        return BurnResult(input=path, output=target, duration=span.duration(info.duration), n_words=0,
                          analysis_from="", seconds=time.perf_counter() - started, status="skipped",
                          size=(frame.width, frame.height))
    notes: list[str] = []
    source: AnalysisSource
    if analysis is not None:
        analysis, source = analysis if isinstance(analysis, Analysis) else Analysis.load(Path(analysis)), "document"
        if span.end is not None and analysis.duration and analysis.duration + 0.5 < span.end:
            notes.append(f"the analysis covers {analysis.duration:.1f} s: captions stop there")
        analysis = trim_analysis(analysis, span)
    else:
        assert analyser is not None
        timer = StageTimer(progress)
        whole = cache.load(identity) if cache else None
        if whole is not None or span.whole:
            analysis = whole or analyser.analyse(info, options, progress=timer, cache=cache)
            analysis = trim_analysis(analysis, span)
        else:
            analysis = _range_analysis(analyser, info, span, options, timer, cache)
        source = "models" if timer.seconds else "cache"
    if progress:
        progress("burn", 0.0)
    if key and cache:
        cache.begin_outputs([target], key)
    burn_subtitles(info, to_ass(analysis, style, layout=layout, per_word=True), target,
                   (lambda f: progress("burn", f)) if progress else None, picture=picture, extra_fonts=extra_fonts)
    if progress:
        progress("burn", 1.0)
    return BurnResult(input=path, output=target, duration=analysis.duration, n_words=len(analysis.words),
                      analysis_from=source, seconds=time.perf_counter() - started, size=(frame.width, frame.height),
                      notes=notes)
