"""faster-whisper decoding with our settings, and the second pass over speech it skipped.

``DecodeOptions`` holds every setting that changes what the recogniser returns, with the
defaults chosen on ``benchmarks/word_accuracy.py`` and ``benchmarks/hard_audio.py`` (the
measurements are in docs/benchmarks.md). ``decode`` runs one faster-whisper pass and returns
raw (text, start, end, probability) words; ``rescue_skipped`` finds the stretches where the
voice-activity detector hears speech but no word was returned, and decodes each again on its own,
without the previous-text prompt (or, with ``pack_rescue``, several packed into one window: each
decode pays a Whisper encoder pass over a padded 30 s window, however little speech it holds).
Those decodes run as many at a time as the recogniser has CTranslate2 workers, and where it has
two, most of them while the first pass is still decoding (``EarlyRescue``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import numpy as np

from ..document import Word
from ..constants import SAMPLE_RATE
from .stream import decode_streamed
from .timestamps import norm_text

__all__ = ["PACK_GAP", "PACK_SECONDS", "RESCUE_BEHIND", "DecodeOptions", "EarlyRescue", "RawSegment", "decode",
           "pack_stretches", "rescue_skipped", "token_budget", "unpack_words"]

# Speech this short is decoded with a token budget: no more than people say (6 words a second,
# up to ~6 tokens a word in scripts Whisper splits finely) so a loop stops early instead of
# running to Whisper's 448-token limit (a looping 3 s clip took 7x real time without it).
_TOKENS_PER_SECOND, _TOKEN_FLOOR, _TOKEN_BUDGET_MAX = 40, 20, 220
# With ``pack_rescue`` the second pass packs its stretches into windows of at most PACK_SECONDS
# (Whisper's window is 30 s), PACK_GAP of silence between two stretches (issue 25).
PACK_SECONDS, PACK_GAP = 28.0, 1.0
# The first pass's segments come in time order: a stretch this far behind the latest one's start
# gets no more words from it (``EarlyRescue``).
RESCUE_BEHIND = 1.0
_PACKED_BUDGET_MAX = 400  # a packed window's budget stays inside Whisper's 448 tokens with its prompt


def token_budget(speech_seconds: float) -> int | None:
    """max_new_tokens for a decode of this much speech; None (Whisper's own limit) when long."""
    budget = int(_TOKEN_FLOOR + _TOKENS_PER_SECOND * max(speech_seconds, 0.0))
    return budget if budget <= _TOKEN_BUDGET_MAX else None


@dataclass(frozen=True)
class DecodeOptions:
    """Recogniser settings (faster-whisper 1.2.1 names) and our own passes."""

    beam_size: int = 5
    # One beam-search decode, no sampling fallback (faster-whisper's default retries at 0.2 … 1.0,
    # up to six decodes a window on hard audio): the guards catch what fallback was for (loops,
    # runaway text), and the word benchmark found as many words without it (docs/benchmarks.md).
    temperature: tuple[float, ...] = (0.0,)
    # Without the previous text as prompt, a repeated sentence is not continued into a loop
    # (measured: benchmarks/word_accuracy.py); with the silence threshold, Whisper skips silence
    # around a suspected hallucination. Both put fewer words outside the speech.
    condition_on_previous_text: bool = False
    hallucination_silence_threshold: float | None = 2.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    # faster-whisper's VAD filter (Silero): what it cuts out is never decoded.
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400
    # our passes
    # The second pass (a stretch decoded again on its own) runs once, at these temperatures: its
    # output is checked by the guards and dropped when it fails, so no long fallback is needed.
    retry_temperature: tuple[float, ...] = (0.0,)
    detect_on_speech: bool = True  # detect the language on the speech stretches (else Whisper's first window)
    rescue: bool = True  # decode again the speech stretches that got no word
    guard: bool = True  # drop failed decodes (guards: words per second, loops) and decode their speech again
    repair: bool = True  # timestamps: drop stacked repeats, snap to speech, spread stacked words
    # The second pass's stretches packed into shared windows (one encoder pass per window, not per
    # stretch). Off: on the word benchmark it cut the second pass's CPU by 59% on the repeated-
    # sentence talk but found 84 words where alone gave 83 (one more outside the speech), and
    # tiny.en heard "keeps" for "kids" in a packed window (docs/benchmarks.md, issue 25).
    pack_rescue: bool = False

    def whisper_kwargs(self) -> dict:
        return {"beam_size": self.beam_size, "temperature": list(self.temperature),
                "condition_on_previous_text": self.condition_on_previous_text,
                "hallucination_silence_threshold": self.hallucination_silence_threshold,
                "repetition_penalty": self.repetition_penalty, "no_repeat_ngram_size": self.no_repeat_ngram_size,
                "compression_ratio_threshold": self.compression_ratio_threshold,
                "log_prob_threshold": self.log_prob_threshold, "no_speech_threshold": self.no_speech_threshold}

    def vad_parameters(self) -> dict:
        return {"threshold": self.vad_threshold, "min_silence_duration_ms": self.vad_min_silence_ms,
                "speech_pad_ms": self.vad_speech_pad_ms}

    def identity(self) -> dict:
        """JSON-ready, for cache keys and reports."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> "DecodeOptions":
        known = cls.__dataclass_fields__
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown decode settings: {', '.join(unknown)}")
        temps = ("temperature", "retry_temperature")
        values = {k: (tuple(v) if k in temps and isinstance(v, (list, tuple)) else
                      (v,) if k in temps else v) for k, v in values.items()}
        return cls(**values)


@dataclass
class RawSegment:
    text: str
    start: float
    end: float
    words: list[Word] = field(default_factory=list)
    place: int | None = None  # the packed stretch it was decoded from (``unpack_words``)


def decode(model, audio: np.ndarray, language: str | None, options: DecodeOptions, *, offset: float = 0.0,
           vad_filter: bool = True, condition_on_previous_text: bool | None = None,
           temperature: tuple[float, ...] | None = None, max_new_tokens: int | None = None,
           progress: Callable[[float], None] | None = None,
           speech: list[dict] | None = None,
           heard: Callable[[list[RawSegment]], None] | None = None) -> tuple[list[RawSegment], object]:
    """One faster-whisper pass: (segments of raw words with times + ``offset``, its info).
    ``speech``: the regions (samples) faster-whisper's VAD filter keeps, when already found from
    Silero's probabilities (``vad.speech_chunks`` with ``options.vad_parameters()``): that speech is
    decoded and its times mapped back as the filter would, without running Silero again.
    ``audio``: an array, or a long recording read by slices (``stream.ChunkedAudio``, with
    ``speech``): decoded as one by ``stream.decode_streamed``, a window's worth in memory.
    ``heard(segments)`` is called with the segments so far as each one comes (``EarlyRescue``)."""
    kwargs = options.whisper_kwargs()
    if condition_on_previous_text is not None:
        kwargs["condition_on_previous_text"] = condition_on_previous_text
    if temperature is not None:
        kwargs["temperature"] = list(temperature)
    if max_new_tokens is not None:
        kwargs["max_new_tokens"] = max_new_tokens
    streamed = not isinstance(audio, np.ndarray)
    if vad_filter and speech is not None and streamed:  # a long recording read from its chunks
        pieces, info = decode_streamed(model, audio, speech, language, kwargs)
    elif vad_filter and speech is not None:  # what WhisperModel.transcribe does with its own regions
        from faster_whisper.transcribe import restore_speech_timestamps
        from faster_whisper.vad import collect_chunks

        kept = np.concatenate(collect_chunks(audio, speech)[0], axis=0)
        pieces, info = model.transcribe(kept, language=language, word_timestamps=True, vad_filter=False, **kwargs)
        if speech:
            pieces = restore_speech_timestamps(pieces, speech, SAMPLE_RATE)
    else:
        pieces, info = model.transcribe(audio, language=language, word_timestamps=True, vad_filter=vad_filter,
                                        vad_parameters=options.vad_parameters() if vad_filter else None, **kwargs)
    duration = len(audio) / SAMPLE_RATE
    out, done = [], 0.0
    for piece in pieces:  # a generator: decoding happens while we iterate it
        words = [Word(w.word, float(w.start) + offset, float(w.end) + offset, float(w.probability))
                 for w in (piece.words or []) if w.word and w.word.strip()]
        out.append(RawSegment(piece.text, float(piece.start) + offset, float(piece.end) + offset, words))
        if heard:
            heard(out)
        if progress and duration:
            done = max(done, min(1.0, float(piece.end) / duration))
            progress(done)
    return out, info


def _covered(region: tuple[float, float], words: list[Word]) -> bool:
    a, b = region
    return any(w.start < b and w.end > a or a <= (w.start + w.end) / 2 <= b for w in words)


def _padded(regions: list[tuple[float, float]], pad: float, duration: float) -> list[tuple[float, float]]:
    return [(max(0.0, a - pad), min(duration, b + pad)) for a, b in regions]


def _decode_alone(model, audio, lo: float, hi: float, speech_seconds: float, language: str | None,
                  options: DecodeOptions) -> list[RawSegment]:
    """One stretch (``lo``..``hi`` s, padded) decoded on its own, without the prompt."""
    return decode(model, audio[int(lo * SAMPLE_RATE): int(hi * SAMPLE_RATE)], language, options, offset=lo,
                  vad_filter=False, condition_on_previous_text=False, temperature=options.retry_temperature,
                  max_new_tokens=token_budget(speech_seconds))[0]


class EarlyRescue:
    """The second pass begun while the first pass is still decoding, on the recogniser's second
    worker: a speech stretch that no word covers, once the first pass has moved RESCUE_BEHIND
    seconds past it, is decoded then (``heard``, given to ``decode``), as ``rescue_skipped`` would
    decode it later. ``rescue_skipped(early=...)`` takes those results for the stretches it still
    finds without words; the rest it decodes itself; one it no longer needs is dropped. The words
    are the same either way (the same decode of the same stretch); the first pass leaves a core
    idle most of the time, and this fills it (issue 25). ``dropped(segments)``: the ids of those
    the guards will drop (their words cover nothing), given the segments near the stretches. A context manager: leaving it cancels what
    has not started."""

    def __init__(self, model, audio, regions: list[tuple[float, float]], language: str | None,
                 options: DecodeOptions, dropped: Callable[[list[RawSegment]], set[int]] = lambda segments: set(),
                 min_seconds: float = 0.3, pad: float = 0.2):
        self.model, self.audio, self.language, self.options, self.dropped = model, audio, language, options, dropped
        duration = len(audio) / SAMPLE_RATE
        kept = [(a, b) for a, b in regions if b - a >= min_seconds]
        self._waiting = list(zip(kept, _padded(kept, pad, duration)))
        self.started: dict[tuple[float, float], Future] = {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sentimentogram-rescue")
        self._behind = 0  # segments before this one end before every stretch still waiting

    def heard(self, segments: list[RawSegment]) -> None:
        frontier = segments[-1].start - RESCUE_BEHIND if segments else 0.0
        if not self._waiting or self._waiting[0][0][1] > frontier:
            return
        # Only the segments that reach the earliest waiting stretch can cover it: looking at those
        # alone keeps this linear in the input's length (it runs on the decoding's thread).
        earliest = self._waiting[0][0][0] - RESCUE_BEHIND
        while self._behind < len(segments) and segments[self._behind].end < earliest:
            self._behind += 1
        recent = segments[self._behind:]
        ignored = self.dropped(recent)
        words = [w for s in recent if id(s) not in ignored for w in s.words]
        while self._waiting and self._waiting[0][0][1] <= frontier:
            (a, b), padded = self._waiting.pop(0)
            if not _covered((a, b), words):
                self.started[padded] = self._pool.submit(_decode_alone, self.model, self.audio, *padded, b - a,
                                                         self.language, self.options)

    def __enter__(self) -> "EarlyRescue":
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def rescue_skipped(model, audio: np.ndarray, segments: list[RawSegment], regions: list[tuple[float, float]],
                   language: str | None, options: DecodeOptions, *, min_seconds: float = 0.3,
                   pad: float = 0.2, early: EarlyRescue | None = None) -> tuple[list[RawSegment], int]:
    """Segments for the VAD ``regions`` no word covers, each decoded again on its own, without the
    prompt; or, with ``options.pack_rescue``, packed into as few windows as hold them
    (``pack_stretches``: PACK_GAP of silence between, at most PACK_SECONDS each), one decode per
    window, words mapped back to their own stretch (``unpack_words``), a stretch of a packed window
    that got no word decoded alone. A new word is kept unless an existing word with the same text
    overlaps it in time (the first pass had it, only misplaced). ``early``: stretches already
    decoded while the first pass ran (``EarlyRescue``, same ``min_seconds`` and ``pad``). Returns
    (new segments, stretches decoded again)."""
    words = [w for s in segments for w in s.words]
    duration = len(audio) / SAMPLE_RATE
    todo = [(a, b) for a, b in regions if b - a >= min_seconds and not _covered((a, b), words)]
    padded = _padded(todo, pad, duration)
    speech = {p: b - a for p, (a, b) in zip(padded, todo)}  # seconds of each stretch without its pad
    done = early.started if early is not None and not options.pack_rescue else {}

    def alone(lo: float, hi: float) -> list[RawSegment]:
        if (lo, hi) in done:
            return done[(lo, hi)].result()
        return _decode_alone(model, audio, lo, hi, speech[(lo, hi)], language, options)

    def decoded(group: list[tuple[float, float]]) -> list[RawSegment]:
        if len(group) == 1:
            return alone(*group[0])
        packed, places = _packed_audio(audio, group)
        new, _ = decode(model, packed, language, options, vad_filter=False, condition_on_previous_text=False,
                        temperature=options.retry_temperature, max_new_tokens=_packed_budget([speech[p] for p in group]))
        got = unpack_words(new, places)
        heard = {seg.place for seg in got}
        return got + [seg for k, p in enumerate(group) if k not in heard for seg in alone(*p)]

    groups = pack_stretches(padded) if options.pack_rescue else [[p] for p in padded]
    # The decodes are independent: as many run at once as the recogniser has workers
    # (assets.load_whisper), each the same computation as alone, so the words do not change.
    workers = min(len(groups), getattr(getattr(model, "model", None), "num_workers", 1))
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        results = list(pool.map(decoded, groups) if pool else map(decoded, groups))
    found = []
    for seg in (seg for got in results for seg in got):
        kept = [w for w in seg.words
                if not any(norm_text(o.text) == norm_text(w.text) and o.start < w.end and o.end > w.start
                           for o in words)]
        if kept:
            found.append(RawSegment(seg.text if len(kept) == len(seg.words) else "".join(w.text for w in kept),
                                    seg.start, seg.end, kept))
    return found, len(todo)


def _packed_budget(speech: list[float]) -> int | None:
    """max_new_tokens of a window packed with stretches of these seconds of speech: the sum of
    their allowances (``token_budget``'s rate; None, Whisper's own limit, past _PACKED_BUDGET_MAX)."""
    budget = int(sum(_TOKEN_FLOOR + _TOKENS_PER_SECOND * s for s in speech))
    return budget if budget <= _PACKED_BUDGET_MAX else None


def pack_stretches(stretches: list[tuple[float, float]], gap: float = PACK_GAP,
                   limit: float = PACK_SECONDS) -> list[list[tuple[float, float]]]:
    """Consecutive stretches (s) grouped so each group, laid end to end with ``gap`` of silence
    between, lasts at most ``limit`` (a stretch longer than that is a group of its own)."""
    groups: list[list[tuple[float, float]]] = []
    length = 0.0
    for a, b in stretches:
        if groups and length + gap + (b - a) <= limit:
            groups[-1].append((a, b))
            length += gap + b - a
        else:
            groups.append([(a, b)])
            length = b - a
    return groups


def _packed_audio(audio: np.ndarray, group: list[tuple[float, float]]) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """The group's stretches joined by PACK_GAP of zeros, and per stretch (start in the packed
    audio, start and end in the recording), seconds."""
    silence = np.zeros(int(PACK_GAP * SAMPLE_RATE), np.float32)
    parts: list[np.ndarray] = []
    places: list[tuple[float, float, float]] = []
    at = 0
    for a, b in group:
        piece = audio[int(a * SAMPLE_RATE): int(b * SAMPLE_RATE)]
        if parts:
            parts.append(silence)
            at += len(silence)
        places.append((at / SAMPLE_RATE, a, b))
        parts.append(piece)
        at += len(piece)
    return np.concatenate(parts).astype(np.float32, copy=False), places


def unpack_words(segments: list[RawSegment], places: list[tuple[float, float, float]]) -> list[RawSegment]:
    """Segments decoded from packed audio, cut where their words change stretch, with times in the
    recording: each word belongs to the stretch its midpoint falls in (or the nearest one) and is
    kept inside that stretch's bounds."""
    out = []
    for seg in segments:
        runs: list[tuple[int, list[Word]]] = []
        for w in seg.words:
            k = _place_of((w.start + w.end) / 2, places)
            packed_start, a, b = places[k]
            shift = a - packed_start
            start = min(max(w.start + shift, a), b)
            moved = Word(w.text, round(start, 3), round(min(max(w.end + shift, start), b), 3), w.probability)
            if runs and runs[-1][0] == k:
                runs[-1][1].append(moved)
            else:
                runs.append((k, [moved]))
        for k, ws in runs:
            text = seg.text if len(runs) == 1 else "".join(w.text for w in ws)
            out.append(RawSegment(text, ws[0].start, ws[-1].end, ws, place=k))
    return out


def _place_of(t: float, places: list[tuple[float, float, float]]) -> int:
    """The stretch (index into ``places``) that packed time ``t`` falls in, or the nearest."""
    best, distance = 0, float("inf")
    for k, (packed_start, a, b) in enumerate(places):
        end = packed_start + (b - a)
        d = 0.0 if packed_start <= t <= end else min(abs(t - packed_start), abs(t - end))
        if d < distance:
            best, distance = k, d
    return best
