"""One input file -> its outputs: probe, decode, transcribe, recognise emotions, write.

Failures that can be blamed on the input, the output folder, the style file or the head are
found before the slow stages; stage errors become typed one-line errors. Models load once per
``Models``. The analysis is cached by content and model identity, so restyling runs no model,
and outputs already up to date are skipped. Long inputs stay in bounded memory: the audio is
held as 30 s chunks (230 MB an hour), transcribed in pieces cut at quiet points
(``transcribe.transcribe_chunks``), and encoder frames are kept as float16 (as in training:
92 MB an hour) while windows go a batch at a time (``emotions.recognise_chunks``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .analysis import SCHEMA_VERSION, Analysis
from .analysis_cache import AnalysisCache, cache_key, file_sha256, load_document
from .assets import BUNDLED_ASR_MODEL, head_checkpoint_path, whisper_model_identity
from .constants import AGE_GROUPS, CHUNK_SAMPLES, CULTURES, HOP_SECONDS, SAMPLE_RATE, WINDOW_SECONDS
from .errors import InputError, ModelError, SentimentogramError
from .exports import FORMATS, check_outputs

__all__ = ["STAGES", "ProgressCallback", "RenderOptions", "RenderResult", "Models",
           "output_paths", "analysis_key", "analysis_for", "style_overrides", "render_file", "restyle_file"]

STAGES = ("decode", "transcribe", "emotions", "page")
# progress(stage, fraction done 0..1); called with 0.0 when a stage starts and 1.0 when it ends.
ProgressCallback = Callable[[str, float], None]
_ANALYSIS_VERSION = 2  # bump when the analysis code changes what it produces: old cache entries miss

# Audio encoders that ship with the package, by the identity a head checkpoint records.
_BUNDLED_AUDIO_ENCODERS = {whisper_model_identity(name): name for name in (BUNDLED_ASR_MODEL, "tiny.en")}


@dataclass
class RenderOptions:
    culture: str = "western"
    age: str = "adult"
    style_file: Path | None = None  # TOML overrides of the typography presets
    profile: Path | None = None  # preference profile (prefs fit): beats the presets, loses to style_file
    out: Path | None = None  # output path (its suffix is replaced per format) or an existing folder
    json: bool = False  # also write the analysis as JSON (an alias for adding "json" to formats)
    formats: tuple[str, ...] = ("html",)  # any of exports.FORMATS
    embed_video: bool = False  # put the media inside the page instead of linking to it
    asr_model: str = BUNDLED_ASR_MODEL
    language: str | None = None  # None: detected
    window: float = WINDOW_SECONDS
    hop: float = HOP_SECONDS
    device: str = "auto"
    backend: str = "faster-whisper"
    head: Path | None = None  # emotion head checkpoint; None: the one shipped in the package
    cache_dir: Path | None = None  # None: analysis_cache.default_cache_dir()
    use_cache: bool = True  # False: neither read nor write the cache (and skip nothing)
    force: bool = False  # render even when the outputs are up to date

    @property
    def output_formats(self) -> tuple[str, ...]:
        wanted = set(self.formats) | ({"json"} if self.json else set())
        return tuple(f for f in FORMATS if f in wanted)


@dataclass
class RenderResult:
    input: Path
    outputs: list[Path]
    duration: float  # seconds of media
    language: str
    n_words: int
    emotion_mix: dict[str, float]  # share of words per emotion, largest first
    stage_seconds: dict[str, float] = field(default_factory=dict)
    status: str = "rendered"  # "rendered", "restyled" (analysis from the cache) or "skipped" (up to date)
    notes: list[str] = field(default_factory=list)  # things the user should know (cache not writable)

    @property
    def total_seconds(self) -> float:
        return sum(self.stage_seconds.values())

    @property
    def realtime_factor(self) -> float:
        """Processing seconds per second of media (below 1: faster than real time)."""
        return self.total_seconds / self.duration if self.duration > 0 else 0.0


class Models:
    """The models of one run, each loaded on first use and then kept. The head's audio features
    come from the encoder it was trained on, whatever ``--asr-model`` transcribes."""

    def __init__(self, *, device: str = "auto", head_path: Path | None = None):
        self.requested_device = device
        self.head_path = Path(head_path) if head_path else None
        self._device: str | None = None
        self._head = self._audio_encoder = self._text_encoder = None

    @classmethod
    def for_options(cls, options: RenderOptions) -> "Models":
        return cls(device=options.device, head_path=options.head)

    @property
    def device(self) -> str:
        if self._device is None:
            from .devices import resolve_device

            self._device = resolve_device(self.requested_device)
        return self._device

    @property
    def head(self):
        if self._head is None:
            from .features import TextEncoder
            from .head import EmotionHead

            # Identities are checked against the checkpoint before any encoder is loaded.
            self._head = EmotionHead.load(self.head_path, self.device, text_encoder=TextEncoder.identity)
            if self._head.metadata.audio_encoder not in _BUNDLED_AUDIO_ENCODERS:
                raise ModelError(f"the emotion head was trained on audio encoder "
                                 f"{self._head.metadata.audio_encoder!r}, which is not bundled: "
                                 f"use a head trained on {whisper_model_identity(BUNDLED_ASR_MODEL)!r}")
        return self._head

    @property
    def audio_encoder(self):
        if self._audio_encoder is None:
            from .features import AudioEncoder

            name = _BUNDLED_AUDIO_ENCODERS[self.head.metadata.audio_encoder]
            # load_whisper is cached: when name == asr_model this is the transcriber itself.
            self._audio_encoder = AudioEncoder(name, self.device)
        return self._audio_encoder

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from transformers.utils import logging as transformers_logging

            from .features import TextEncoder

            transformers_logging.disable_progress_bar()  # our own bars already show the stage
            self._text_encoder = TextEncoder(self.device)
        return self._text_encoder


# ---- checks -----------------------------------------------------------------------------------

def output_paths(input_path: Path, options: RenderOptions) -> dict[str, Path]:
    """Where each output goes: ``--out`` (or the input) with each format's suffix."""
    from .exports import output_paths as paths_for

    return paths_for(input_path, options.out, options.output_formats)


def _check_options(options: RenderOptions) -> None:
    if options.culture not in CULTURES:
        raise SentimentogramError(f"unknown culture {options.culture!r}: use one of {', '.join(CULTURES)}")
    if options.age not in AGE_GROUPS:
        raise SentimentogramError(f"unknown age group {options.age!r}: use one of {', '.join(AGE_GROUPS)}")
    if not (0 < options.hop <= options.window):
        raise SentimentogramError(f"--hop ({options.hop}) must be above 0 and at most --window ({options.window})")
    if not options.output_formats:
        raise SentimentogramError(f"no output format: use --format with some of {', '.join(FORMATS)}")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[-1] if text else type(exc).__name__)[:200]


class _Stages:
    """Runs stages with progress and timing; foreign exceptions become one typed line."""

    def __init__(self, path: Path, progress: ProgressCallback | None):
        self.path, self.progress, self.seconds = path, progress, {}

    def report(self, stage: str, fraction: float) -> None:
        if self.progress:
            self.progress(stage, fraction)

    def run(self, stage: str, work: Callable[[Callable[[float], None]], object]):
        self.report(stage, 0.0)
        t0 = time.perf_counter()
        try:
            result = work(lambda f: self.report(stage, f))
        except (KeyboardInterrupt, SentimentogramError):
            raise
        except MemoryError:
            raise ModelError(f"{self.path.name}: out of memory during {stage}") from None
        except Exception as exc:  # ffmpeg, CTranslate2, torch: one typed line for the user
            raise ModelError(f"{self.path.name}: {stage} failed: {type(exc).__name__}: {_one_line(exc)}") from exc
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
        self.report(stage, 1.0)
        return result


# ---- analysis: decode, transcribe, recognise ------------------------------------------------

def _asr_identity(options: RenderOptions) -> str:
    if options.backend == "faster-whisper":
        return whisper_model_identity(options.asr_model)
    return f"{options.backend}:{options.asr_model}"


def _analyse(path: Path, options: RenderOptions, models: Models, stages: _Stages, info) -> Analysis:
    """Run the models on one input (``info`` from media.probe). No output is written."""
    from .emotions import recognise_chunks
    from .media import iter_audio_chunks
    from .transcribe import transcribe_chunks

    started = time.perf_counter()
    head = models.head  # a missing or mismatched checkpoint fails before the slow stages
    load_seconds = time.perf_counter() - started
    chunks: list[np.ndarray] = []

    def decode(report):
        for chunk in iter_audio_chunks(path, CHUNK_SAMPLES / SAMPLE_RATE):
            chunks.append(chunk)
            if info.duration:
                report(min(1.0, len(chunks) * CHUNK_SAMPLES / SAMPLE_RATE / info.duration))

    stages.run("decode", decode)
    n = sum(len(c) for c in chunks)
    transcript = stages.run("transcribe", lambda r: transcribe_chunks(
        chunks, n, model_name=options.asr_model, language=options.language, device=models.device,
        backend=options.backend, progress=r))

    def recognise(report):
        if not transcript.words:  # no speech: no encoder needs loading
            return []
        return recognise_chunks(chunks, n, transcript.segments, head, models.audio_encoder, models.text_encoder,
                                window=options.window, hop=options.hop, progress=report)

    lines = stages.run("emotions", recognise)
    chunks.clear()
    stages.seconds["emotions"] += load_seconds
    return Analysis(
        source=path.name, media_kind=info.kind, duration=info.duration or round(n / SAMPLE_RATE, 3),
        language=transcript.language, labels=list(head.labels), lines=lines,
        models={"asr": _asr_identity(options), "audio_encoder": head.metadata.audio_encoder,
                "text_encoder": head.metadata.text_encoder, "head": head.metadata.version},
        settings={"window": options.window, "hop": options.hop, "culture": options.culture, "age": options.age})


def analysis_key(path: Path, options: RenderOptions, cache: AnalysisCache, models: Models | None = None) -> str:
    """The cache key of ``path``'s analysis: its bytes, and the models and settings that read it."""
    head_path = (models.head_path if models else options.head) or head_checkpoint_path()
    head = cache.content_hash(head_path) if head_path.is_file() else f"missing:{head_path}"
    return cache_key({"input": cache.content_hash(path), "asr": _asr_identity(options), "language": options.language,
                      "window": options.window, "hop": options.hop, "head": head,
                      "schema": SCHEMA_VERSION, "analysis_version": _ANALYSIS_VERSION})


def analysis_for(path: Path, options: RenderOptions, models: Models | None = None,
                 progress: ProgressCallback | None = None, info=None,
                 cache: AnalysisCache | None = None) -> tuple[Analysis, bool, dict[str, float]]:
    """The analysis of ``path``: from the cache when it holds one, else from the models (and
    then cached). Returns (analysis, came from the cache, seconds per stage). ``info`` and
    ``cache``: the file's ``media.probe`` and the cache, when the caller has them."""
    from .media import probe

    path, models = Path(path), models or Models.for_options(options)
    info = info or probe(path)
    cache = (cache or AnalysisCache(options.cache_dir)) if options.use_cache else None
    key = analysis_key(path, options, cache, models) if cache else None
    analysis = cache.load(key) if cache else None
    stages = _Stages(path, progress)
    if analysis is None:
        analysis = _analyse(path, options, models, stages, info)
        if cache:
            cache.store(key, analysis)
        return analysis, False, stages.seconds
    # The same bytes under another name or extension: the document describes this file.
    analysis.source, analysis.media_kind = path.name, info.kind
    return analysis, True, stages.seconds


# ---- outputs ----------------------------------------------------------------------------------

def _result(path: Path, analysis: Analysis | None, outputs, seconds, status, duration=0.0, notes=()) -> RenderResult:
    words = analysis.words if analysis else []
    counts = Counter(w.emotion.emotion for w in words)
    mix = {label: round(k / len(words), 4) for label, k in counts.most_common()} if words else {}
    return RenderResult(input=path, outputs=list(outputs), duration=analysis.duration if analysis else duration,
                        language=analysis.language if analysis else "", n_words=len(words), emotion_mix=mix,
                        stage_seconds=dict(seconds), status=status, notes=list(notes))


def style_overrides(options: RenderOptions):
    """The style file and/or preference profile, read and checked."""
    if options.profile is None:  # the preferences package loads torch: only for a profile
        from .typography import load_style_file

        return load_style_file(options.style_file) if options.style_file else None
    from .preferences.profile import page_overrides

    return page_overrides(options.style_file, options.profile)


def _write(analysis: Analysis, paths: dict[str, Path], options: RenderOptions, media: Path | None,
           stages: _Stages) -> list[Path]:
    from .exports import write_outputs

    overrides = style_overrides(options)
    analysis.settings.update(culture=options.culture, age=options.age)
    return stages.run("page", lambda r: write_outputs(analysis, paths, culture=options.culture, age=options.age,
                                                      overrides=overrides, media=media,
                                                      embed_video=options.embed_video))


def render_file(path: Path, options: RenderOptions, models: Models | None = None,
                progress: ProgressCallback | None = None) -> RenderResult:
    """Render one media file to its outputs; returns what was written (or found up to date).

    ``models``: pass one ``Models`` to reuse the loaded models across files (its device and head
    are used); by default they are loaded for this call from ``options``.
    """
    from .media import probe

    path, models = Path(path), models or Models.for_options(options)
    _check_options(options)
    info = probe(path)
    paths = output_paths(path, options)
    check_outputs(paths, path, options.out)
    style_overrides(options)  # a bad style file or profile fails before any model
    cache = AnalysisCache(options.cache_dir) if options.use_cache else None
    render_key = None
    if cache:
        style = file_sha256(options.style_file) if options.style_file else None
        profile = file_sha256(options.profile) if options.profile else None
        render_key = cache_key({"analysis": analysis_key(path, options, cache, models), "input": str(path.resolve()),
                                "culture": options.culture, "age": options.age, "style": style, "profile": profile,
                                "outputs": {f: str(p.resolve()) for f, p in paths.items()},
                                "embed": options.embed_video, "version": __version__})
        if not options.force and cache.up_to_date(list(paths.values()), render_key):
            return _result(path, None, paths.values(), {}, "skipped", duration=info.duration)
    analysis, cached, seconds = analysis_for(path, options, models, progress, info, cache)
    if cache:
        cache.begin_outputs(list(paths.values()), render_key)
    stages = _Stages(path, progress)
    outputs = _write(analysis, paths, options, path, stages)
    return _result(path, analysis, outputs, {**seconds, **stages.seconds}, "restyled" if cached else "rendered",
                   notes=cache.notes if cache else ())


def restyle_file(document: Path, options: RenderOptions, media: Path | None = None,
                 progress: ProgressCallback | None = None) -> RenderResult:
    """Render outputs from an analysis document alone (no model runs). The media is ``media``
    or, when it exists, the file named in the document beside it."""
    _check_options(options)
    document = Path(document)
    analysis = load_document(document)
    if media is not None and not Path(media).is_file():
        raise InputError(f"{media}: no such file")
    beside = document.parent / Path(analysis.source).name  # a name, never a path from the document
    media = Path(media) if media is not None else (beside if beside.is_file() else None)
    notes = [] if media else [f"{beside.name} is not beside {document.name}: the page has no media (use --media)"]
    paths = output_paths(document, options)
    check_outputs(paths, document, options.out)
    stages = _Stages(document, progress)
    outputs = _write(analysis, paths, options, media, stages)
    return _result(document, analysis, outputs, stages.seconds, "restyled", notes=notes)

