"""Speech recognition with word timestamps: 16 kHz float32 audio -> Segment/Word dataclasses.

The default backend is faster-whisper (CTranslate2) with its Silero VAD filter, which ships as an
ONNX file inside the faster-whisper wheel, so it runs offline. openai-whisper is an optional
backend (``pip install 'sentimentogram[openai-whisper]'``) mapped to the same dataclasses.

With faster-whisper, one file is: the language detected once on its speech; one decode with the
measured ``DecodeOptions``; failed decodes (too many words per second of speech, loops) dropped
and their speech, with any other speech no word covers, decoded again stretch by stretch; then
every word's time repaired (no word under 40 ms, none stacked, none in silence). What the guards
did goes into ``Transcript.notes``. The parts live in ``transcription/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..document import Segment, Word
from ..assets import BUNDLED_ASR_MODEL, load_whisper
from ..constants import SAMPLE_RATE
from ..devices import resolve_device
from ..errors import ModelError, SentimentogramError, one_line
from ..heap import release_freed_memory
from .decoding import DecodeOptions, EarlyRescue, RawSegment, decode, rescue_skipped, token_budget
from .guards import failure, find_segment_loops, unsupported
from .language import detect_language
from .speech import envelope, shorter_stretches, speech_stretches
from .stream import ChunkedAudio, samples
from .timestamps import drop_stacked_repeats, repair_words
from .vad import speech_chunks, speech_probabilities

__all__ = ["BACKENDS", "LANGUAGE_UNSURE_BELOW", "PIECE_SECONDS", "DecodeOptions", "Transcript", "transcribe", "transcribe_chunks", "load_openai_whisper",
           "transcript_from_openai_result"]

BACKENDS = ("faster-whisper", "openai-whisper")
# A detected language below this probability is reported as unsure (with the --language hint).
# On benchmarks/hard_audio.py, 0.7 flags 27 of 33 wrong detections and 4 of 43 right ones.
LANGUAGE_UNSURE_BELOW = 0.7
# Longest audio given to the recogniser as one array. A longer recording is decoded as one all the
# same, read from its chunks a window at a time (stream.py), so a 2-minute input and a 3-hour one
# peak alike (issue 25); with openai-whisper it is cut into pieces of this length.
PIECE_SECONDS = 120.0
_CUT_SEARCH_SECONDS = 30.0  # a piece ends at the quietest half second this close to its limit
_OPENAI_INSTALL_HINT = "pip install 'sentimentogram[openai-whisper]'"


@dataclass
class Transcript:
    """What was said: segments of timed words, the language, and the audio's duration (s)."""

    language: str
    segments: list[Segment]
    duration: float
    language_probability: float = 1.0  # the detector's confidence (1.0 when given or English-only)
    notes: list[str] = field(default_factory=list)  # what the guards did (stretches re-decoded, words dropped)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments).strip()


def _seconds(value: float, duration: float) -> float:
    # Whisper can place a last word a few ms past the end of the audio: keep times inside it.
    return round(min(max(float(value), 0.0), duration), 3)


def _make_segment(
    text: str, start: float, end: float, raw_words: Iterable[tuple[str, float, float, float]], duration: float
) -> Segment | None:
    """A Segment from (text, start, end, probability) tuples; None when no word survives."""
    words = []
    for word_text, w_start, w_end, probability in raw_words:
        if not word_text or not word_text.strip():
            continue  # whisper emits empty/space-only "words" around punctuation
        w_start = _seconds(w_start, duration)
        w_end = max(w_start, _seconds(w_end, duration))
        # The leading space is kept: it is how whisper marks word boundaries ("".join -> text).
        words.append(Word(text=word_text, start=w_start, end=w_end, probability=round(float(probability), 4)))
    if not words:
        return None  # captions are built from words: a word-less segment has nothing to show
    seg_start = min(_seconds(start, duration), words[0].start)
    seg_end = max(_seconds(end, duration), words[-1].end)
    return Segment(start=seg_start, end=seg_end, text=text.strip(), words=words)


def _check_audio(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono (1-D) at {SAMPLE_RATE} Hz, got shape {audio.shape}")
    return np.ascontiguousarray(audio)


def _check_language(language: str | None, known: Iterable[str]) -> str | None:
    if language is None:
        return None
    code = language.strip().lower()
    if code not in set(known):
        raise SentimentogramError(
            f"unknown language {language!r}: give a Whisper language code such as en, de, fr, pl"
        )
    return code


def transcribe(
    audio: np.ndarray,
    *,
    model_name: str = BUNDLED_ASR_MODEL,
    language: str | None = None,
    device: str = "cpu",
    backend: str = "faster-whisper",
    progress: Callable[[float], None] | None = None,
    decode: DecodeOptions | dict | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono float32 ``audio`` with word timestamps.

    ``language=None`` lets the model detect it. ``progress`` receives the fraction (0..1) of the
    audio transcribed so far, ending with 1.0. ``decode``: recogniser settings (``DecodeOptions``
    or a dict of its fields); the defaults are the measured ones. Models are loaded once per process.
    """
    options = decode if isinstance(decode, DecodeOptions) else DecodeOptions.from_dict(decode or {})
    audio = _check_audio(audio)
    if backend not in BACKENDS:
        raise SentimentogramError(f"unknown ASR backend {backend!r}: use one of {', '.join(BACKENDS)}")
    resolved = resolve_device(device)
    duration = round(len(audio) / SAMPLE_RATE, 3)
    if backend == "openai-whisper":
        result = _transcribe_openai(audio, model_name, language, resolved, duration)
        if options.repair:
            result = _repaired(result, audio, None)
    else:
        result = _transcribe_faster(audio, model_name, language, resolved, duration, progress, options)
    if progress:
        progress(1.0)
    return result


def _piece_bounds(chunks: list[np.ndarray], n_samples: int) -> list[tuple[int, int]]:
    """Pieces of at most PIECE_SECONDS, each ending in the quietest half second near its limit,
    so that no word is cut in two."""
    limit, search, frame = int(PIECE_SECONDS * SAMPLE_RATE), int(_CUT_SEARCH_SECONDS * SAMPLE_RATE), SAMPLE_RATE // 50
    bounds, start = [], 0
    while n_samples - start > limit:
        lo = start + limit - search
        tail = samples(chunks, lo, start + limit)
        energy = (tail[: len(tail) // frame * frame].reshape(-1, frame).astype(np.float64) ** 2).mean(axis=1)
        quiet = np.convolve(energy, np.ones(25), mode="valid")  # 25 x 20 ms
        cut = lo + (int(np.argmin(quiet)) + 12) * frame
        bounds.append((start, cut))
        start = cut
    return bounds + [(start, n_samples)]


def _shift(segment: Segment, seconds: float) -> Segment:
    words = [Word(w.text, round(w.start + seconds, 3), round(w.end + seconds, 3), w.probability) for w in segment.words]
    return Segment(round(segment.start + seconds, 3), round(segment.end + seconds, 3), segment.text, words)


def transcribe_chunks(
    chunks: list[np.ndarray],
    n_samples: int,
    *,
    model_name: str = BUNDLED_ASR_MODEL,
    language: str | None = None,
    device: str = "cpu",
    backend: str = "faster-whisper",
    progress: Callable[[float], None] | None = None,
    decode: DecodeOptions | dict | None = None,
) -> Transcript:
    """``transcribe`` a recording held as 30 s chunks (``n_samples`` long) in bounded memory:
    past PIECE_SECONDS, faster-whisper decodes it as one, read from the chunks (``stream``);
    openai-whisper, in pieces of at most PIECE_SECONDS cut at quiet points, times shifted back."""
    if backend == "faster-whisper" and n_samples > PIECE_SECONDS * SAMPLE_RATE:
        options = decode if isinstance(decode, DecodeOptions) else DecodeOptions.from_dict(decode or {})
        result = _transcribe_faster(ChunkedAudio(chunks, n_samples), model_name, language, resolve_device(device),
                                    round(n_samples / SAMPLE_RATE, 3), progress, options)
        if progress:
            progress(1.0)
        return result
    detected, probability, segments, notes = "", 1.0, [], []
    for a, b in _piece_bounds(chunks, n_samples):
        report = (lambda f: progress(min(1.0, (a + f * (b - a)) / n_samples))) if progress else None
        piece = transcribe(samples(chunks, a, b), model_name=model_name, language=language, device=device,
                           backend=backend, progress=report, decode=decode)
        if not detected:
            detected, probability = piece.language, piece.language_probability
        language = language or piece.language or None  # detected once, on the first piece
        segments += [_shift(s, a / SAMPLE_RATE) for s in piece.segments]
        notes += piece.notes
        release_freed_memory()  # the piece's log-mel, VAD windows and decoder buffers
    return Transcript(language=detected, segments=segments, duration=round(n_samples / SAMPLE_RATE, 3),
                      language_probability=probability, notes=notes)


def _transcribe_faster(
    audio: np.ndarray,
    model_name: str,
    language: str | None,
    device: str,
    duration: float,
    progress: Callable[[float], None] | None,
    options: DecodeOptions,
) -> Transcript:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    language = _check_language(language, _LANGUAGE_CODES)
    model = load_whisper(model_name, device)
    if not model.model.is_multilingual:
        language = "en"  # an .en model only knows English; faster-whisper would warn and do this
    if duration == 0:
        return Transcript(language=language or "", segments=[], duration=0.0)
    try:
        env = envelope(audio)
        probs = speech_probabilities(audio)  # Silero once: thresholded for the stretches and the VAD filter
        stretches = speech_stretches(audio, env, probs=probs)
        probability = 1.0
        if language is None and options.detect_on_speech:
            guess = detect_language(model, audio, stretches)
            language, probability = guess.code, guess.probability
        budget = token_budget(sum(b - a for a, b in stretches)) if stretches else None
        with _early_rescue(model, audio, env, stretches, language, options) as early:
            raw, info = decode(model, audio, language, options, progress=progress, max_new_tokens=budget,
                               speech=speech_chunks(probs, len(audio), **options.vad_parameters()),
                               heard=early.heard if early else None)
            if language is None:
                language, probability = info.language, float(info.language_probability)
            raw, notes = _second_pass(model, audio, raw, language, options, env, stretches, early)
    except (RuntimeError, ValueError, MemoryError) as exc:  # CTranslate2/ONNX failures
        raise ModelError(f"speech recognition with {model_name!r} failed: {one_line(exc)}") from exc
    segments = [seg for seg in (_make_segment(s.text, s.start, s.end, ((w.text, w.start, w.end, w.probability)
                                                                        for w in s.words), duration) for s in raw) if seg]
    transcript = Transcript(language=language, segments=segments, duration=duration,
                            language_probability=round(probability, 4),
                            notes=notes)
    return _repaired(transcript, audio, env) if options.repair else transcript


def _early_rescue(model, audio, env, stretches: list[tuple[float, float]], language: str | None,
                  options: DecodeOptions) -> EarlyRescue | nullcontext:
    """The second pass begun beside the first (``decoding.EarlyRescue``) where the recogniser has a
    second worker (a CPU) and the language is known; otherwise nothing (a ``nullcontext``)."""
    workers = getattr(getattr(model, "model", None), "num_workers", 1)
    if workers < 2 or language is None or not options.rescue or options.pack_rescue:
        return nullcontext()

    def dropped(segments: list[RawSegment]) -> set[int]:  # what the guards will drop (the words don't count)
        return {id(s) for s, _ in _failed(segments, env, stretches, options)} if options.guard else set()

    return EarlyRescue(model, audio, stretches, language, options, dropped)


def _failed(raw: list[RawSegment], env, stretches: list[tuple[float, float]],
            options: DecodeOptions) -> list[tuple[RawSegment, str]]:
    """The failed decodes among ``raw`` (``guards``), each with why: too many words per second
    of speech and the like, and runs of one phrase over and over across segments."""
    failed = [(s, why) for s in raw if (why := failure(s.words, env, s.start, s.end))]
    for first, stop in find_segment_loops([s.text for s in raw]):  # one phrase over and over, across segments
        why = f"{raw[first].text.strip()!r} in {stop - first} segments in a row"
        for s in raw[first:stop]:
            # Without the prompt a real repeat is kept unless its words lack support in the audio;
            # with it, Whisper copies the prompt confidently, so the whole run is decoded again.
            reason = (unsupported(s.words, s.start, s.end, stretches) if not options.condition_on_previous_text
                      else "the previous text as prompt")
            if reason and not any(s is f for f, _ in failed):
                failed.append((s, f"{why}, {reason}"))
    return failed


def _second_pass(model, audio: np.ndarray, raw: list[RawSegment], language: str, options: DecodeOptions,
                 env, stretches: list[tuple[float, float]], early: EarlyRescue | None = None):
    """The first pass's segments without failed decodes (``guards``) and hallucinated stacks,
    plus the speech no word covers decoded again stretch by stretch (taken from ``early`` where it
    already decoded them); and notes on what was done."""
    notes = []
    failed = _failed(raw, env, stretches, options)
    if failed and options.guard:
        raw = [s for s in raw if not any(s is f for f, _ in failed)]
        notes.append(f"{len(failed)} segment(s) failed ({failed[0][1]}{', …' if len(failed) > 1 else ''}): "
                     "decoded again stretch by stretch")
    if options.repair:  # a hallucinated stack must not hide a skipped stretch
        kept = {id(w) for w in drop_stacked_repeats([w for s in raw for w in s.words])[0]}
        raw = [RawSegment(s.text, s.start, s.end, [w for w in s.words if id(w) in kept]) for s in raw]
    if options.rescue or (failed and options.guard):
        found, tried = rescue_skipped(model, audio, raw, stretches, language, options, early=early)
        bad = [s for s in found if failure(s.words, env, s.start, s.end)] if options.guard else []
        found = [s for s in found if not any(s is b for b in bad)]
        if tried:
            notes.append(f"{tried} speech stretch(es) without words decoded again: "
                         f"{sum(len(s.words) for s in found)} word(s) found")
        if bad:  # failed twice: once more in pieces of a turn or two, cut at the widest pauses
            failed_stretches = [st for st in stretches if any(b.start < st[1] and b.end > st[0] for b in bad)]
            pieces = [p for st in failed_stretches for p in shorter_stretches(st, env)]
            more, _ = rescue_skipped(model, audio, raw + found, pieces, language, options, pad=0.05)
            worse = [s for s in more if failure(s.words, env, s.start, s.end)]
            kept = [s for s in more if not any(s is w for w in worse)]
            found += kept
            notes.append(f"{len(bad)} stretch(es) failed again: decoded in {len(pieces)} shorter piece(s), "
                         f"{sum(len(s.words) for s in kept)} word(s) found")
            bad = worse
        if bad:
            notes.append(f"{len(bad)} stretch(es) still failed and were dropped "
                         f"({sum(len(s.words) for s in bad)} words: {failure(bad[0].words, env, bad[0].start, bad[0].end)})")
        raw = sorted(raw + found, key=lambda s: s.start)
    return raw, notes


def _repaired(transcript: Transcript, audio: np.ndarray, env=None) -> Transcript:
    """The transcript with stacked repeats dropped and every word's time repaired
    (``transcription.timestamps``); segments keep their words, emptied ones go."""
    words = [w for s in transcript.segments for w in s.words]
    kept, dropped = drop_stacked_repeats(words)
    fixed = repair_words(kept, env if env is not None else envelope(audio), transcript.duration)
    by_id = {id(w): f for w, f in zip(sorted(kept, key=lambda w: (w.start, w.end)), fixed)}
    segments = []
    for s in transcript.segments:
        ws = sorted((by_id[id(w)] for w in s.words if id(w) in by_id), key=lambda w: w.start)
        if ws:
            segments.append(Segment(ws[0].start, ws[-1].end, s.text, ws))
    segments.sort(key=lambda s: s.words[0].start)
    notes = transcript.notes + ([f"{dropped} stacked repeated word(s) dropped"] if dropped else [])
    return Transcript(transcript.language, segments, transcript.duration, transcript.language_probability, notes)


def _import_openai_whisper():
    try:
        import whisper
    except ImportError:
        whisper = None
    # A different PyPI project (graphite's time-series "whisper") also installs a `whisper` module.
    if whisper is None or not hasattr(whisper, "load_model"):
        raise ModelError(f"the openai-whisper backend is not installed: {_OPENAI_INSTALL_HINT}")
    return whisper


@lru_cache(maxsize=2)
def load_openai_whisper(name_or_path: str, device: str = "cpu"):
    """An openai-whisper model by name (its own download cache) or by checkpoint path."""
    whisper = _import_openai_whisper()
    try:
        return whisper.load_model(name_or_path, device=device)
    except Exception as exc:  # download, checkpoint or CUDA errors: one line for the user
        raise ModelError(f"cannot load openai-whisper model {name_or_path!r}: {one_line(exc)}") from exc


def _transcribe_openai(
    audio: np.ndarray, model_name: str, language: str | None, device: str, duration: float
) -> Transcript:
    whisper = _import_openai_whisper()
    from whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

    if language is not None:
        language = TO_LANGUAGE_CODE.get(language.strip().lower(), language)
    language = _check_language(language, LANGUAGES)
    model = load_openai_whisper(model_name, device)
    if not model.is_multilingual:
        language = "en"
    if duration == 0:
        return Transcript(language=language or "", segments=[], duration=0.0)
    try:
        # openai-whisper has no VAD filter and no per-segment callback: progress jumps to 1.0.
        result = whisper.transcribe(
            model, audio, word_timestamps=True, language=language, fp16=(device == "cuda"), verbose=None
        )
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise ModelError(f"speech recognition with {model_name!r} failed: {one_line(exc)}") from exc
    return transcript_from_openai_result(result, duration)


def transcript_from_openai_result(result: dict, duration: float) -> Transcript:
    """Map openai-whisper's result dict (segments with "words") to a Transcript."""
    segments = []
    for piece in result.get("segments", []):
        raw = ((w.get("word", ""), w["start"], w["end"], w.get("probability", 0.0)) for w in piece.get("words", []))
        segment = _make_segment(piece.get("text", ""), piece["start"], piece["end"], raw, duration)
        if segment:
            segments.append(segment)
    return Transcript(language=result.get("language") or "", segments=segments, duration=duration)

