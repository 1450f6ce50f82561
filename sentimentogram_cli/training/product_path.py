"""The product path of evaluation: clips scored the way ``render`` scores them.

Each clip alone (its own 30 s chunk of zero padding, its own normalisation, windows and per-word
aggregation), or a one-speaker talk made of clips back to back, goes through the emotion stage's
own code (``emotion.recognise``). A clip's score is the duration-weighted mean of its words'
probabilities, the emotion a viewer sees on most of its words.

Words: the clip's transcript from the CSV, spread evenly over the clip's speech (found by
energy), or what Whisper heard (``asr``: ``Analyser.transcribe``, exactly as render). A clip
with neither gets one empty word over its speech: the head then reads the audio alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..constants import SAMPLE_RATE
from ..document import Line, Segment, Word
from ..media import chunk_audio
from ..emotion.recognise import encode_recording, recognise_frames, recording_centre
from .alone import alone_frames, render_audio
from .corpora import Clip, clips_by_speaker
from .feature_cache import cache_key, cached

__all__ = ["PROTOCOLS", "ProductScores", "speech_extent", "transcript_segments", "clip_score", "MemoTextEncoder",
           "ProductPath", "talk_groups", "TALK_GAP_SECONDS"]

PROTOCOLS = ("product", "packed-speaker")
TALK_GAP_SECONDS = 0.6  # silence between the clips of a talk: a new utterance (> 0.3 s) each time
_TALK_CLIPS = 24  # clips per talk (about a minute of speech in the shared corpora)


@dataclass
class ProductScores:
    probabilities: np.ndarray  # (clips, labels): each clip's duration-weighted word mean
    gates: np.ndarray  # (clips, 2): text, audio
    labels: list[str]


def speech_extent(audio: np.ndarray, floor_db: float = -35.0) -> tuple[float, float]:
    """(start, end) seconds of the part of a clip louder than ``floor_db`` below its loudest 20 ms."""
    hop = SAMPLE_RATE // 50
    n = max(1, len(audio) // hop)
    rms = np.sqrt(np.mean(np.square(audio[: n * hop].reshape(n, -1).astype(np.float64)), axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    if not len(loud):
        return 0.0, len(audio) / SAMPLE_RATE
    return loud[0] * hop / SAMPLE_RATE, min(len(audio), (loud[-1] + 1) * hop) / SAMPLE_RATE


def transcript_segments(text: str, start: float, end: float) -> list[Segment]:
    """One segment whose words (Whisper's convention: a leading space) share [start, end) evenly;
    no text: one empty word over it (the text branch is then masked)."""
    tokens = text.split() or [""]
    step = (end - start) / len(tokens)
    words = [Word(f" {t}" if t else "", round(start + k * step, 3), round(start + (k + 1) * step, 3), 1.0)
             for k, t in enumerate(tokens)]
    return [Segment(words[0].start, words[-1].end, text.strip(), words)]


def clip_score(lines: Sequence[Line], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Duration-weighted mean of the words' probabilities and gates (zero-length words count
    20 ms, as in the windows' overlap weights)."""
    words = [w for line in lines for w in line.words]
    weight = np.array([max(w.end - w.start, 0.02) for w in words])
    probs = np.array([[w.emotion.probabilities[label] for label in labels] for w in words])
    gates = np.array([[w.emotion.text_gate, w.emotion.audio_gate] for w in words])
    weight = weight / weight.sum()
    return weight @ probs, weight @ gates


class MemoTextEncoder:
    """A text encoder that embeds each distinct string once (acted corpora repeat sentences)."""

    def __init__(self, encoder):
        self.encoder, self.identity, self._memo = encoder, encoder.identity, {}

    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        new = [t for t in dict.fromkeys(texts) if t not in self._memo]
        for t, e in zip(new, self.encoder.embed(new) if new else []):
            self._memo[t] = e
        return [self._memo[t] for t in texts]


def talk_groups(clips: list[Clip], indices: Sequence[int], size: int = _TALK_CLIPS, seed: int = 0) -> list[list[int]]:
    """The clips of each speaker, shuffled, cut into talks of at most ``size`` clips."""
    by_speaker = clips_by_speaker(clips, indices)
    rng = random.Random(seed)
    groups = []
    for speaker in sorted(by_speaker):
        members = sorted(by_speaker[speaker])
        rng.shuffle(members)
        n = -(-len(members) // size)
        groups.extend(members[k::n] for k in range(n))
    return groups


class ProductPath:
    """Scores clips through the emotion stage of ``render`` with a given head and its encoders.

    ``analyser``: an ``Analyser`` whose ``transcribe`` gives the words when ``asr`` is on.
    Frames of clips alone and of talks are cached under ``cache_dir`` (reruns skip the encoder).
    """

    def __init__(self, head, audio_encoder, text_encoder, cache_dir: Path, *, asr: bool = False, analyser=None):
        self.head, self.audio_encoder, self.cache_dir = head, audio_encoder, Path(cache_dir)
        self.text_encoder = MemoTextEncoder(text_encoder)
        self.asr, self.analyser = asr, analyser
        self.alone: dict[int, np.ndarray] = {}  # clip index -> frames encoded alone (see prepare)
        self._words: dict[tuple[str, bool], tuple[list[Segment], str | None]] = {}

    def _segments(self, clip: Clip, audio: np.ndarray, offset: float = 0.0, use_text: bool = True):
        """The clip's segments (shifted by ``offset`` seconds) and the language its words are in."""
        key = (str(clip.path), use_text)
        if key not in self._words:
            if self.asr and use_text:
                transcript = self.analyser.transcribe(audio, language=clip.language or None)
                segments, language = list(transcript.segments), transcript.language
                if not any(s.words for s in segments):
                    segments, language = transcript_segments("", *speech_extent(audio)), "-"
            else:
                text = clip.text if use_text else ""
                segments = transcript_segments(text, *speech_extent(audio))
                language = clip.language or None
            self._words[key] = (segments, language)
        segments, language = self._words[key]
        if offset:
            segments = [Segment(s.start + offset, s.end + offset, s.text,
                                [Word(w.text, w.start + offset, w.end + offset, w.probability) for w in s.words])
                        for s in segments]
        return segments, language

    def prepare(self, clips: list[Clip], indices: Sequence[int],
                progress: Callable[[int, int], None] | None = None) -> dict[int, np.ndarray]:
        """Encode (or read from the cache) the clips alone, in blocks of this order."""
        self.alone.update(alone_frames(clips, list(indices), self.audio_encoder, self.cache_dir, progress))
        return self.alone

    def clips(self, clips: list[Clip], indices: Sequence[int], use_text: bool = True,
              progress: Callable[[int, int], None] | None = None,
              speakers: dict[int, str] | None = None) -> ProductScores:
        """Each clip alone, as ``render clip`` scores it."""
        missing = [i for i in indices if i not in self.alone]
        if missing:
            self.prepare(clips, missing)
        frames = self.alone
        labels = list(self.head.labels)
        probs, gates = [], []
        for k, i in enumerate(indices):
            audio = render_audio(clips[i].path)
            segments, language = self._segments(clips[i], audio, use_text=use_text)
            f = np.asarray(frames[i])
            lines = recognise_frames(f, recording_centre(f, self.head), len(audio), segments, self.head,
                                     self.text_encoder, language=language if use_text else "-")
            p, g = clip_score(lines, labels)
            probs.append(p)
            gates.append(g)
            if progress:
                progress(k + 1, len(indices))
        return ProductScores(np.array(probs).reshape(-1, len(labels)), np.array(gates).reshape(-1, 2), labels)

    def talk_audio(self, clips: list[Clip], group: Sequence[int]) -> tuple[np.ndarray, list[float]]:
        """The clips of ``group`` back to back with ``TALK_GAP_SECONDS`` of silence; start times."""
        gap = np.zeros(int(TALK_GAP_SECONDS * SAMPLE_RATE), np.float32)
        pieces, starts, t = [], [], 0
        for i in group:
            audio = render_audio(clips[i].path)
            starts.append(t / SAMPLE_RATE)
            pieces += [audio, gap]
            t += len(audio) + len(gap)
        return np.concatenate(pieces), starts

    def talks(self, clips: list[Clip], groups: Sequence[Sequence[int]], use_text: bool = True,
              progress: Callable[[int, int], None] | None = None) -> tuple[list[int], ProductScores]:
        """One-speaker talks made of clips, each clip scored by its own words (one utterance)."""
        labels = list(self.head.labels)
        order, probs, gates = [], [], []
        for k, group in enumerate(groups):
            audio, starts = self.talk_audio(clips, group)
            key = cache_key(self.audio_encoder.identity, self.audio_encoder.layers, "talk-v1", TALK_GAP_SECONDS,
                            [str(clips[i].path) for i in group])
            chunks = chunk_audio(audio)
            frames = np.asarray(cached(self.cache_dir, "talk", key,
                                       lambda: [encode_recording(chunks, len(audio), self.audio_encoder)])[0])
            segments, language = [], None
            for i, start in zip(group, starts):
                clip_audio = audio[int(round(start * SAMPLE_RATE)):][: len(render_audio(clips[i].path))]
                s, language = self._segments(clips[i], clip_audio, offset=start, use_text=use_text)
                segments.append(s)
            flat = [seg for s in segments for seg in s]
            lines = recognise_frames(frames, recording_centre(frames, self.head), len(audio), flat, self.head,
                                     self.text_encoder, language=language if use_text else "-")
            # Lines come back in segment order, one or more per segment: split them per clip.
            per_clip, cursor = [], 0
            words_per_clip = [sum(len(seg.words) for seg in s) for s in segments]
            all_lines_words = [(line, w) for line in lines for w in line.words]
            for count in words_per_clip:
                chunk = all_lines_words[cursor: cursor + count]
                cursor += count
                per_clip.append([Line(chunk[0][1].start, chunk[-1][1].end, [w for _, w in chunk])])
            for i, clip_lines in zip(group, per_clip):
                p, g = clip_score(clip_lines, labels)
                order.append(i)
                probs.append(p)
                gates.append(g)
            if progress:
                progress(k + 1, len(groups))
        return order, ProductScores(np.array(probs).reshape(-1, len(labels)), np.array(gates).reshape(-1, 2), labels)
