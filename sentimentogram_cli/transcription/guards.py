"""Guards against runaway decodes: too many words for the speech, and loops.

People do not say more than about 5-6 words a second; Whisper, on a poor decode, can repeat a
word or a phrase until its token limit, often crammed into an instant or spread over silence.
A decoded segment with more than ``MAX_WORDS_PER_SECOND`` words per second of speech (the
energy envelope's speech inside it, at least ``MIN_SPEECH_SECONDS``), or one that repeats a
word or phrase ``LOOP_COPIES`` times in a row, is a failed decode: ``transcribe`` drops it and
decodes the speech under it again, stretch by stretch and without the previous-text prompt;
what fails again is dropped and reported.

Loops also run across segments: with the previous text as its prompt, Whisper can decode one
phrase again and again in consecutive segments over speech that says something else ("I will
never yield in it!" four times on a 16 s two-person scene). ``SEGMENT_LOOP_COPIES`` consecutive
segments with the same text are such a failed decode until shown otherwise: ``transcribe``
decodes their speech again, stretch by stretch and without the prompt, as for a loop inside a
segment. When the audio really does repeat (a chorus, a drill, a corpus read line by line), the
prompt-free decode finds the same words again and they are kept.

Without the prompt (the default decoding), a run forms inside one 30 s window, and where it is a
loop the repeated words lack support in the audio: ``unsupported`` says why a segment of a run is
a failed decode (a word Whisper was unsure of, words squeezed into no time, one sentence laid over
several speech stretches), and only those segments are decoded again. Real repeats (RAVDESS's two
sentences, read over and over) no longer pay a decode per sentence (issue 25).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..document import Word
from .speech import Envelope
from .timestamps import STACK_SECONDS, norm_text

__all__ = ["MAX_WORDS_PER_SECOND", "LOOP_COPIES", "SEGMENT_LOOP_COPIES", "Loop", "find_loop", "find_segment_loops",
           "unsupported", "words_per_second", "failure"]

MAX_WORDS_PER_SECOND = 6.0
MIN_SPEECH_SECONDS = 1.0  # a short segment is judged as if it had this much speech
LOOP_COPIES = 4  # a word or phrase this many times in a row is a loop
MAX_LOOP_NGRAM = 12
SEGMENT_LOOP_COPIES = 3  # consecutive segments with one text: decoded again without the prompt
# A segment of such a run is a failed decode (``unsupported``) with a word below RUN_MIN_PROBABILITY,
# RUN_STACKED_WORDS words of no duration, or its words over RUN_STRETCHES speech stretches. Chosen on
# the first pass over benchmarks/speakers.py's 108 validation recordings (RAVDESS actors 1-8, nEMO):
# 32 of them hold 34 runs, 123 segments, of which 7 do not say what the audio under them says (the
# next turn's sentence, or a one-word turn and the next one merged into one sentence). These
# settings flag all 7 and 8 of the 116 real repeats. Stacked words and stretches alone flag the 7 and
# 4 real ones; probability and either other rule miss 2 of the 7; the probability rule stays as margin.
# The 32 recordings transcribed in full: 161 decodes -> 53, word errors 47 -> 42 of 1,620.
RUN_MIN_PROBABILITY = 0.1
RUN_STACKED_WORDS = 2
RUN_STRETCHES = 2
_OVERLAP_SECONDS = 0.1  # a segment is over a stretch when it overlaps it by more than this


@dataclass
class Loop:
    start: int  # index of the first word of the repeated run
    size: int  # words in the repeated phrase
    copies: int  # times it occurs in a row

    @property
    def end(self) -> int:
        return self.start + self.size * self.copies


def find_loop(words: Sequence[Word] | Sequence[str], copies: int = LOOP_COPIES) -> Loop | None:
    """The longest run of one word or phrase (up to MAX_LOOP_NGRAM words) repeated at least
    ``copies`` times in a row, compared without case and punctuation; None when there is none."""
    tokens = [norm_text(w if isinstance(w, str) else w.text) for w in words]
    best: Loop | None = None
    for size in range(1, min(MAX_LOOP_NGRAM, len(tokens) // copies) + 1):
        i = 0
        while i + size * copies <= len(tokens):
            phrase = tokens[i: i + size]
            n = 1
            while tokens[i + n * size: i + (n + 1) * size] == phrase:
                n += 1
            if n >= copies and any(phrase) and (best is None or n * size > best.copies * best.size):
                best = Loop(i, size, n)
            i += max(1, (n - 1) * size) if n >= copies else 1
    return best


def find_segment_loops(texts: Sequence[str], copies: int = SEGMENT_LOOP_COPIES) -> list[tuple[int, int]]:
    """Runs ``[first, stop)`` of at least ``copies`` consecutive segments whose texts are the
    same (compared without case and punctuation; empty texts never count)."""
    norm = [norm_text(text) for text in texts]
    runs, first = [], 0
    for i in range(1, len(norm) + 1):
        if i == len(norm) or norm[i] != norm[first] or not norm[first]:
            if norm[first] and i - first >= copies:
                runs.append((first, i))
            first = i
    return runs


def unsupported(words: Sequence[Word], start: float, end: float,
                stretches: Sequence[tuple[float, float]]) -> str | None:
    """Why a segment over [start, end) of a run of identical segments is a failed decode (its
    words lack support in the audio), or None when it looks like a real repeat. ``stretches``:
    the speech stretches (s) of the recording (``speech.speech_stretches``)."""
    if not words:
        return None
    probability = min(w.probability for w in words)
    if probability < RUN_MIN_PROBABILITY:
        return f"a word at probability {probability:.2f}"
    stacked = sum(w.end - w.start <= STACK_SECONDS for w in words)
    if stacked >= RUN_STACKED_WORDS:
        return f"{stacked} words of no duration"
    spread = sum(min(b, end) - max(a, start) > _OVERLAP_SECONDS for a, b in stretches)
    if spread >= RUN_STRETCHES:
        return f"one sentence over {spread} speech stretches"
    return None


def words_per_second(words: Sequence[Word], env: Envelope, start: float | None = None,
                     end: float | None = None) -> float:
    """Words per second of speech (the envelope's) between ``start`` and ``end`` (default: the
    words' own span), the speech counted as at least MIN_SPEECH_SECONDS."""
    if not words:
        return 0.0
    start = min(w.start for w in words) if start is None else start
    end = max(w.end for w in words) if end is None else end
    speech = env.speech_seconds(start, end) if env.duration else end - start
    return len(words) / max(speech, MIN_SPEECH_SECONDS)


def failure(words: Sequence[Word], env: Envelope, start: float, end: float) -> str | None:
    """Why a decoded segment over [start, end) is a failed decode, or None when it is not."""
    loop = find_loop(words)
    if loop is not None:
        phrase = "".join(w.text for w in words[loop.start: loop.start + loop.size]).strip()
        return f"loops ({phrase!r} {loop.copies} times in a row)"
    rate = words_per_second(words, env, start, end)
    if rate > MAX_WORDS_PER_SECOND:
        return f"{rate:.1f} words per second of speech"
    return None
