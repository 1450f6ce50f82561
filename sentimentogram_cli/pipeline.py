"""One input file -> one page: probe, decode, transcribe, recognise emotions, render, write.

Everything a failure can be blamed on (the input, the output folder, the style file, the head
checkpoint) is checked before the slow stages run. Models are loaded once per ``Models`` and
reused across files. Stage errors from ffmpeg, CTranslate2 or torch become typed one-line errors.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .analysis import Analysis
from .assets import BUNDLED_ASR_MODEL, whisper_model_identity
from .constants import AGE_GROUPS, CULTURES, HOP_SECONDS, SAMPLE_RATE, WINDOW_SECONDS
from .errors import ModelError, OutputError, SentimentogramError

__all__ = ["STAGES", "ProgressCallback", "RenderOptions", "RenderResult", "Models", "output_paths",
           "render_file"]

STAGES = ("decode", "transcribe", "emotions", "page")
# progress(stage, fraction done 0..1); called with 0.0 when a stage starts and 1.0 when it ends.
ProgressCallback = Callable[[str, float], None]

# Audio encoders that ship with the package, by the identity a head checkpoint records.
_BUNDLED_AUDIO_ENCODERS = {whisper_model_identity(name): name for name in (BUNDLED_ASR_MODEL, "tiny.en")}


@dataclass
class RenderOptions:
    culture: str = "western"
    age: str = "adult"
    style_file: Path | None = None  # TOML overrides of the typography presets
    out: Path | None = None  # page path or existing folder; None: <input stem>.html beside the input
    json: bool = False  # also write the analysis as <page stem>.json beside the page
    embed_video: bool = False  # put the media inside the page instead of linking to it
    asr_model: str = BUNDLED_ASR_MODEL
    language: str | None = None  # None: detected
    window: float = WINDOW_SECONDS
    hop: float = HOP_SECONDS
    device: str = "auto"
    backend: str = "faster-whisper"
    head: Path | None = None  # emotion head checkpoint; None: the one shipped in the package


@dataclass
class RenderResult:
    input: Path
    outputs: list[Path]
    duration: float  # seconds of media
    language: str
    n_words: int
    emotion_mix: dict[str, float]  # share of words per emotion, largest first
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.stage_seconds.values())

    @property
    def realtime_factor(self) -> float:
        """Processing seconds per second of media (below 1: faster than real time)."""
        return self.total_seconds / self.duration if self.duration > 0 else 0.0


class Models:
    """The models of one run, each loaded on first use and then kept.

    The emotion head's audio features must come from the encoder it was trained on (the bundled
    Whisper base for the shipped head), whatever ``--asr-model`` transcribes: when they differ,
    both Whisper models are loaded (``load_whisper`` caches each, so equal names load once).
    """

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


def output_paths(input_path: Path, options: RenderOptions) -> tuple[Path, Path | None]:
    """Where the page (and the JSON analysis, when asked for) will be written."""
    input_path = Path(input_path)
    out = Path(options.out) if options.out else input_path.with_suffix(".html")
    if out.is_dir():
        out = out / f"{input_path.stem}.html"
    return out, (out.with_suffix(".json") if options.json else None)


def _check_output(page: Path, data: Path | None, input_path: Path) -> None:
    """Fail now, not after minutes of models: the folder must exist and take a new file."""
    folder = page.parent
    if data is not None and data.resolve() == page.resolve():
        raise OutputError(f"{page} would be both the page and its JSON: give --out a .html name")
    for path in (page, data):
        if path is not None and path.exists() and path.resolve() == input_path.resolve():
            raise OutputError(f"{path} is the input file: choose another output path with --out")
        if path is not None and path.is_dir():
            raise OutputError(f"{path} is a directory")
    if not folder.is_dir():
        raise OutputError(f"cannot write {page}: folder {folder} does not exist")
    try:  # os.access says yes to root even on read-only or virtual file systems: really try
        fd, probe_file = tempfile.mkstemp(prefix=".sentimentogram-", suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {page}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe_file)


def _media_href(input_path: Path, page: Path) -> str:
    """The input's path relative to the page's folder (the pair can move together), as a plain
    POSIX path: render_page URL-quotes it."""
    return Path(os.path.relpath(input_path.resolve(), page.parent.resolve())).as_posix()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[-1] if text else type(exc).__name__)[:200]


def _stage_error(stage: str, path: Path, exc: Exception) -> SentimentogramError:
    if isinstance(exc, SentimentogramError):
        return exc
    if isinstance(exc, MemoryError):
        return ModelError(f"{path.name}: out of memory during {stage}")
    return ModelError(f"{path.name}: {stage} failed: {type(exc).__name__}: {_one_line(exc)}")


def _write_outputs(analysis: Analysis, html: str, page: Path, data: Path | None,
                   write_page: Callable[[Path, str], None]) -> list[Path]:
    """The JSON first and the page last, so a failed write never leaves a page without its data."""
    from .outputs import atomic_write_text

    if data is not None:
        atomic_write_text(data, analysis.to_json())
    try:
        write_page(page, html)
    except BaseException:
        if data is not None:
            data.unlink(missing_ok=True)
        raise
    return [page] + ([data] if data is not None else [])


def _check_options(options: RenderOptions) -> None:
    if options.culture not in CULTURES:
        raise SentimentogramError(f"unknown culture {options.culture!r}: use one of {', '.join(CULTURES)}")
    if options.age not in AGE_GROUPS:
        raise SentimentogramError(f"unknown age group {options.age!r}: use one of {', '.join(AGE_GROUPS)}")
    if not (0 < options.hop <= options.window):
        raise SentimentogramError(f"--hop ({options.hop}) must be above 0 and at most --window ({options.window})")


def render_file(path: Path, options: RenderOptions, models: Models | None = None,
                progress: ProgressCallback | None = None) -> RenderResult:
    """Render one media file to its page (and JSON analysis); returns what was written and timings.

    ``models``: pass one ``Models`` to reuse the loaded models across files (its device and head
    are used); by default they are loaded for this call from ``options``.
    """
    from .media import decode_audio, probe
    from .page import render_page, write_page
    from .typography import load_style_file

    def report(stage: str, fraction: float) -> None:
        if progress:
            progress(stage, fraction)

    path = Path(path)
    models = models or Models.for_options(options)
    _check_options(options)
    info = probe(path)
    page_path, json_path = output_paths(path, options)
    _check_output(page_path, json_path, path)
    overrides = load_style_file(options.style_file) if options.style_file else None

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    head = models.head  # a missing or mismatched checkpoint fails before the slow stages
    load_seconds = time.perf_counter() - started

    def run(stage: str, work: Callable[[Callable[[float], None]], object]):
        report(stage, 0.0)
        t0 = time.perf_counter()
        try:
            result = work(lambda f: report(stage, f))
        except (KeyboardInterrupt, SentimentogramError):
            raise
        except Exception as exc:  # ffmpeg, CTranslate2, torch: one typed line for the user
            raise _stage_error(stage, path, exc) from exc
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - t0
        report(stage, 1.0)
        return result

    from .emotions import recognise
    from .transcribe import transcribe

    audio = run("decode", lambda p: decode_audio(path))
    transcript = run("transcribe", lambda p: transcribe(
        audio, model_name=options.asr_model, language=options.language, device=models.device,
        backend=options.backend, progress=p))
    has_words = any(s.words for s in transcript.segments)
    lines = run("emotions", lambda p: recognise(
        audio, transcript.segments, head, models.audio_encoder, models.text_encoder,
        window=options.window, hop=options.hop, progress=p) if has_words else [])
    seconds["emotions"] += load_seconds

    duration = info.duration or round(len(audio) / SAMPLE_RATE, 3)
    asr_identity = (whisper_model_identity(options.asr_model) if options.backend == "faster-whisper"
                    else f"{options.backend}:{options.asr_model}")
    analysis = Analysis(
        source=path.name,
        media_kind=info.kind,
        duration=duration,
        language=transcript.language,
        labels=list(head.labels),
        lines=lines,
        models={"asr": asr_identity, "audio_encoder": head.metadata.audio_encoder,
                "text_encoder": head.metadata.text_encoder, "head": head.metadata.version},
        settings={"window": options.window, "hop": options.hop,
                  "culture": options.culture, "age": options.age},
    )
    outputs = run("page", lambda p: _write_outputs(
        analysis, render_page(analysis, media_href=_media_href(path, page_path), culture=options.culture,
                              age=options.age, overrides=overrides,
                              embed_media=path if options.embed_video else None),
        page_path, json_path, write_page))

    words = analysis.words
    counts = Counter(w.emotion.emotion for w in words)
    mix = {label: round(n / len(words), 4) for label, n in counts.most_common()} if words else {}
    return RenderResult(input=path, outputs=outputs, duration=duration, language=transcript.language,
                        n_words=len(words), emotion_mix=mix, stage_seconds=seconds)
