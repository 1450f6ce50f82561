"""The analysis stages chained: media -> 16 kHz audio -> timed words -> per-word emotion and prosody, as one
``Analysis``. The models come from ``analyser_models`` (loaded lazily, once per process); this is
the only place that calls the recogniser (``transcribe``) and the emotion stage
(``emotion.recognise``), so every entry point (the API, the CLI, a batch, a cluster worker) runs
the same path.

Long inputs stay in bounded memory: the audio is held as 30 s chunks (230 MB an hour) and each
stage works through them a piece at a time. A stage that fails in a way nobody foresaw becomes a
one-line ModelError naming the input and the stage (``errors.as_error``).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .ahead import Ahead
from .analyser_models import AnalyserModels
from .document import SCHEMA_VERSION, Analysis, Line, Segment
from .analysis_cache import AnalysisCache, cache_key
from .captions import CaptionRules, cut_cues
from .assets import BUNDLED_ASR_MODEL, head_checkpoint_path
from .constants import CHUNK_SAMPLES, CHUNK_SECONDS, HOP_SECONDS, SAMPLE_RATE, WINDOW_SECONDS
from .devices import threads_beside, torch_threads
from .errors import ModelError, UsageError, as_error
from .heap import release_freed_memory
from .spill import SpilledChunks
from .media import MediaInfo, chunk_audio, iter_audio_chunks, probe, resample
from .transcription.transcribe import BACKENDS
from .analysis_options import AnalysisOptions, ProgressCallback, StageTimer, with_old_keywords

__all__ = ["STAGES", "ProgressCallback", "StageTimer", "AnalysisOptions", "Analyser", "default_analyser", "analyse"]

STAGES = ("decode", "transcribe", "speakers", "emotions", "prosody")
# A 16 kHz mono float32 recording, or a file (path, or what media.probe said about it).
MediaInput = str | os.PathLike | MediaInfo | np.ndarray
CacheArg = bool | str | os.PathLike | AnalysisCache | None  # see Analyser.analyse
_ANALYSIS_VERSION = 9  # bump when the analysis code changes what it produces: old cache entries miss



class Analyser(AnalyserModels):
    """Finds the words of a recording and the emotion of each: ``analyse(media) -> Analysis``.

    ``device``: auto, cpu or cuda (auto: a GPU when one is visible); ``asr_model``: the Whisper
    model for the words (base and tiny.en are bundled; other names need a local CTranslate2
    folder or network); ``backend``: faster-whisper or openai-whisper (an optional extra);
    ``head``: an emotion head checkpoint (default: the one shipped). The models load on first
    use and stay loaded: make one Analyser and give it every file.
    """

    def __init__(self, device: str = "auto", asr_model: str = BUNDLED_ASR_MODEL, *,
                 backend: str = "faster-whisper", head: str | os.PathLike | None = None):
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
        super().__init__(device, asr_model, backend, Path(head) if head else head_checkpoint_path())

    # ---- the stages ---------------------------------------------------------------------------

    def transcribe(self, audio: np.ndarray, *, language: str | None = None,
                   progress: Callable[[float], None] | None = None):
        """The words of a 16 kHz mono float32 recording with their times: a
        ``transcribe.Transcript`` (``.segments``, ``.words``, ``.language``)."""
        audio = _checked_audio(audio)
        return self._transcribe(_chunked(audio), len(audio), language, progress)

    def recognise(self, audio: np.ndarray, segments: Sequence[Segment], *, window: float = WINDOW_SECONDS,
                  hop: float = HOP_SECONDS, progress: Callable[[float], None] | None = None) -> list[Line]:
        """The emotion of every word of ``segments`` (the recogniser's output for ``audio``):
        one ``Line`` per segment with words, each word with its emotion, VAD and gates."""
        audio, options = _checked_audio(audio), AnalysisOptions(window=window, hop=hop)
        return self._recognise(_chunked(audio), len(audio), segments, options, progress)

    def _transcribe(self, chunks: list[np.ndarray], n_samples: int, language: str | None, progress):
        from .transcription.transcribe import transcribe_chunks

        return transcribe_chunks(chunks, n_samples, model_name=self.asr_model, language=language,
                                 device=self.device, backend=self.backend, progress=progress)

    def _recognise(self, chunks: list[np.ndarray], n_samples: int, segments: Sequence[Segment],
                   options: AnalysisOptions, progress, language: str | None = None,
                   encoded: tuple[np.ndarray, np.ndarray] | None = None) -> list[Line]:
        from .emotion.recognise import recognise_chunks

        if not any(s.words for s in segments):  # no speech: no encoder needs loading
            return []
        return recognise_chunks(chunks, n_samples, segments, self.head, self.audio_encoder, self.text_encoder,
                                window=options.window, hop=options.hop, progress=progress, language=language,
                                encoded=encoded)

    def _speakers(self, chunks, n_samples: int, segments: Sequence[Segment], options: AnalysisOptions,
                  notes: list[str], progress):
        """The speaker turns (``speakers.Turns``) of the transcript, or None (off, no words, or
        ``auto`` without the encoder's weights installed: a note says so)."""
        from .speakers import find_turns

        words = [w for s in segments for w in s.words]
        if options.speakers == "off" or not words:
            return None
        try:
            encoder = self.speaker_encoder
        except ModelError as exc:
            if options.speakers != "auto":
                raise
            notes.append(f"speakers not found: {exc}")
            return None
        return find_turns(chunks, n_samples, words, encoder, options.speakers, progress)

    def _prosody(self, chunks: list[np.ndarray], n_samples: int, lines: Sequence[Line]) -> None:
        from .prosody import apply_prosody

        apply_prosody(chunks, n_samples, [w for line in lines for w in line.words])

    # ---- the whole analysis -------------------------------------------------------------------

    def analyse(self, media: MediaInput, options: AnalysisOptions | None = None, *,
                progress: ProgressCallback | None = None, cache: CacheArg = None,
                sample_rate: int | None = None, **deprecated: Any) -> Analysis:
        """The ``Analysis`` of ``media``: a video or audio file (path), what ``media.probe`` said
        about one, or a mono float array of ``sample_rate`` Hz (resampled to 16 kHz when it is
        another rate), analysed with ``options`` (an ``AnalysisOptions``; default: its defaults).

        ``progress(stage, fraction)`` hears each of STAGES start (0.0), advance and end (1.0).
        ``cache``: None (default) runs the models and keeps nothing; True, a folder or an
        ``AnalysisCache`` returns the cached analysis of the same bytes with the same models and
        settings, or runs the models and stores the result. Nothing else is written. Errors are
        the typed exceptions of ``errors``. The keywords ``language``, ``window`` and ``hop`` of
        the last release still work, with a DeprecationWarning.
        """
        options = with_old_keywords(options, deprecated, "analyse")
        cache = AnalysisCache.of(cache)
        source: Path | np.ndarray
        load: Callable[[Callable[[float], None]], tuple[Sequence[np.ndarray], int]]
        if isinstance(media, np.ndarray):
            audio = _array_audio(media, sample_rate)
            name, kind, duration, source = "recording", "audio", len(audio) / SAMPLE_RATE, audio
            load = lambda report: (_chunked(audio), len(audio))  # noqa: E731
        else:
            if sample_rate is not None:
                raise UsageError("sample_rate= is for arrays: a file says its own rate")
            info = media if isinstance(media, MediaInfo) else probe(media)
            name, kind, duration, source = info.path.name, info.kind, info.duration, info.path
            load = lambda report: _decode(info, report)  # noqa: E731
        key = self.cache_key(source, options, cache) if cache else ""
        analysis = cache.load(key) if cache else None
        if analysis is not None:  # the same bytes under another name or extension: it describes this input
            analysis.source, analysis.media_kind = name, kind
            return analysis
        analysis = self._run(name, kind, duration, load, options, progress)
        if cache:
            cache.store(key, analysis)
        return analysis

    def cache_key(self, media: Path | np.ndarray, options: AnalysisOptions, cache: AnalysisCache) -> str:
        """The cache key of an analysis: the media's bytes (file or array), and the models and
        settings that read them; styling is not part of it."""
        if isinstance(media, np.ndarray):
            content = hashlib.sha256(np.ascontiguousarray(media, np.float32).tobytes()).hexdigest()
        else:
            content = cache.content_hash(media)
        head = cache.content_hash(self.head_path) if self.head_path.is_file() else f"missing:{self.head_path}"
        return cache_key({"input": content, "asr": self.asr_identity, "language": options.language,
                          "window": options.window, "hop": options.hop, "head": head,
                          "speakers": options.speakers,
                          "schema": SCHEMA_VERSION, "analysis_version": _ANALYSIS_VERSION})

    def _encode_ahead(self, chunks, n_samples: int, preload: Ahead) -> Ahead:
        """The emotion stage's frames of the whole recording (``emotion.recognise.encode_chunks``),
        made on a thread while the words are found: they do not depend on the words, and the
        recogniser's decoding leaves a core idle most of the time (issue 25). Made even when no
        word is found (the thread cannot know); the stage waits for them."""
        from .emotion.recognise import encode_chunks

        def work():
            preload.result()
            # On a CPU, with the cores the recogniser leaves (devices.threads_beside).
            with torch_threads(threads_beside() if self.device == "cpu" else None):
                return encode_chunks(chunks, n_samples, self.head, self.audio_encoder, lambda f: None)

        return Ahead(work, "sentimentogram-frames")

    def _run(self, name: str, kind: str, duration: float, load: Callable, options: AnalysisOptions,
             progress: ProgressCallback | None) -> Analysis:
        """The three stages on one recording; ``load(report)`` gives its chunks and length."""
        self._check_head()  # a missing or mismatched checkpoint fails before the slow stages
        preload = self._preload_emotion_encoders()
        # The voice encoders (~1 CPU s of weights) load on their own thread too, beside the decoding.
        voices = Ahead(lambda: self.speaker_encoder, "sentimentogram-voices") if options.speakers != "off" else None

        def stage(stage_name: str, work: Callable[[Callable[[float], None]], object]):
            report = (lambda f: progress(stage_name, f)) if progress else (lambda f: None)
            report(0.0)
            try:
                result = work(report)
            except Exception as exc:  # ffmpeg, CTranslate2, torch: one typed line (Ctrl-C passes)
                raise as_error(exc, f"{name}: {stage_name} failed: ", ModelError) from exc
            release_freed_memory()  # what the stage freed, before the next one allocates
            report(1.0)
            return result

        chunks, n = stage("decode", load)
        frames = self._encode_ahead(chunks, n, preload)
        transcript = stage("transcribe", lambda r: self._transcribe(chunks, n, options.language, r))
        notes = list(transcript.notes)
        # Who said each word; segments are cut where the speaker changes (lines never span two).
        if voices is not None:
            voices.result()  # a failure there is raised by the stage below (or noted for auto)
        turns = stage("speakers", lambda r: self._speakers(chunks, n, transcript.segments, options, notes, r))
        segments = transcript.segments
        if turns is not None:
            from .speakers import split_segments

            segments = [s for s, _ in split_segments(transcript.segments, turns.word_speakers)]
        preload.result()
        head = self.head
        lines = stage("emotions", lambda r: self._recognise(chunks, n, segments, options, r,
                                                            transcript.language, frames.result()))
        if turns is not None:
            _label_speakers(lines, turns.word_speakers)
        # How each word was said, on the same in-memory audio: against each speaker's own running
        # baseline when the words carry a speaker, else against the recording's (prosody/).
        stage("prosody", lambda r: self._prosody(chunks, n, lines))
        return Analysis(
            source=name, media_kind=kind, duration=duration or round(n / SAMPLE_RATE, 3),
            language=transcript.language, labels=list(head.labels), lines=lines,
            language_probability=transcript.language_probability, notes=notes,
            speakers=turns.speakers if turns is not None else [],
            models={"asr": self.asr_identity, "audio_encoder": head.metadata.audio_encoder,
                    "text_encoder": head.metadata.text_encoder, "head": head.metadata.version},
            settings={"window": options.window, "hop": options.hop, "speakers": str(options.speakers)},
            # The captions a viewer reads (adult rules; writers re-cut for another reading speed).
            cues=cut_cues([w for line in lines for w in line.words], CaptionRules(), duration or n / SAMPLE_RATE),
            caption_rules=CaptionRules().to_dict())


def _label_speakers(lines: Sequence[Line], word_speakers: Sequence[str]) -> None:
    """Each word and line gets its speaker (lines come from segments already cut at changes)."""
    k = 0
    for line in lines:
        for w in line.words:
            w.speaker = word_speakers[k]
            k += 1
        line.speaker = line.words[0].speaker if line.words else None


def _checked_audio(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1 or audio.size == 0 or not np.issubdtype(audio.dtype, np.floating):
        raise UsageError(f"audio must be a non-empty 1-D float array of 16 kHz mono samples, "
                         f"not {audio.dtype} with shape {audio.shape}")
    return audio.astype(np.float32, copy=False)


def _chunked(audio: np.ndarray) -> list[np.ndarray]:
    return chunk_audio(audio)


def _decode(info: MediaInfo, report: Callable[[float], None]) -> tuple[SpilledChunks, int]:
    """The file's audio streamed from ffmpeg into a temporary file (``spill.SpilledChunks``): the
    stages read it back a chunk at a time, so memory does not grow with the input's length."""
    chunks = SpilledChunks(chunk_samples=CHUNK_SAMPLES)
    for chunk in iter_audio_chunks(info.path, CHUNK_SECONDS):
        chunks.append(chunk)
        if info.duration:
            report(min(1.0, len(chunks) * CHUNK_SECONDS / info.duration))
    return chunks, chunks.n_samples


_default: Analyser | None = None


def default_analyser() -> Analyser:
    """The shared default Analyser (auto device, bundled base model, shipped head), made on
    first use: its models load once per process."""
    global _default
    if _default is None:
        _default = Analyser()
    return _default


def analyse(media: MediaInput, options: AnalysisOptions | None = None, *, progress: ProgressCallback | None = None,
            cache: CacheArg = None, sample_rate: int | None = None, **deprecated: Any) -> Analysis:
    """The ``Analysis`` of ``media`` by the shared default Analyser (``Analyser.analyse``)."""
    return default_analyser().analyse(media, with_old_keywords(options, deprecated, "analyse"), progress=progress,
                                      cache=cache, sample_rate=sample_rate)


def _array_audio(audio: np.ndarray, sample_rate: int | None) -> np.ndarray:
    """A mono float array at 16 kHz: resampled by ffmpeg from ``sample_rate``; without one, taken
    as 16 kHz, with a DeprecationWarning (a 44.1 kHz array would be read ~2.8 times too slow)."""
    audio = _checked_audio(audio)
    if sample_rate is None:
        warnings.warn("analyse(array) without sample_rate= takes it as 16 kHz mono; pass sample_rate= "
                      "(required in the next release)", DeprecationWarning, stacklevel=3)
        return audio
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise UsageError(f"sample_rate must be a positive whole number of Hz, not {sample_rate!r}")
    return audio if sample_rate == SAMPLE_RATE else resample(audio, int(sample_rate))
