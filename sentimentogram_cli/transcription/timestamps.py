"""Repair of Whisper word timestamps: no word of zero length, none stacked, none in silence.

Whisper's word times come from cross-attention alignment and go wrong in known ways: a word
of zero duration, several words piled on one instant (often a hallucinated repeat at the end of
a 30 s window), or a word whose start or end sits in the pause before or after it. The repair
follows stable-ts (jianfch/stable-ts, ``suppress_silence`` and ``min_word_dur``): a word edge
that lies in silence moves to the speech next to it, without making the word shorter than
a minimum; words that are too short or overlap are spread over the speech they cover, in
proportion to their length in characters. stable-ts itself is not a dependency: its repair
runs on its own result objects and its faster-whisper path loads models by hub name, while ours
come from bundled packages; the ~100 lines here work on our ``Word`` lists and the envelope.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..document import Word
from .speech import FRAME_SECONDS, Envelope

__all__ = ["MIN_WORD_SECONDS", "STACK_SECONDS", "repair_words", "drop_stacked_repeats", "norm_text"]

MIN_WORD_SECONDS = 0.1  # what a word is given when room allows (stable-ts' min_word_dur)
_FLOOR_SECONDS = 0.04  # never shorter than this: a word the page can show
STACK_SECONDS = 0.02  # a word this short is "zero-length"
INNER_PAUSE_SECONDS = 0.2  # a word spanning a quiet run this long is cut to one side of it


def norm_text(text: str) -> str:
    return re.sub(r"[^\w']+", " ", text.lower()).strip()


def _word(w: Word, start: float, end: float) -> Word:
    return Word(w.text, round(start, 3), round(end, 3), w.probability)


def drop_stacked_repeats(words: Sequence[Word]) -> tuple[list[Word], int]:
    """Words without the runs of zero-length words (2 or more at about one instant) whose text
    repeats the words just before or after them: Whisper's hallucinated copies. Returns (kept,
    number dropped)."""
    words = list(words)
    keep = [True] * len(words)
    i = 0
    while i < len(words):
        j = i
        while (j < len(words) and words[j].end - words[j].start <= STACK_SECONDS
               and abs(words[j].start - words[i].start) <= 0.1):
            j += 1
        if j - i >= 2:
            run = norm_text("".join(w.text for w in words[i:j]))
            before = norm_text("".join(w.text for w in words[max(0, i - 3 * (j - i)): i]))
            after = norm_text("".join(w.text for w in words[j: j + 3 * (j - i)]))
            if run and (run in before or run in after):
                keep[i:j] = [False] * (j - i)
            i = j
        else:
            i += 1
    return [w for w, k in zip(words, keep) if k], keep.count(False)


def _snap(w: Word, env: Envelope, lo: float, hi: float) -> tuple[float, float]:
    """Edges moved out of silence toward the word's own speech (stable-ts' suppress_silence),
    keeping at least MIN_WORD_SECONDS where the word had it."""
    start, end = w.start, max(w.end, w.start)
    if end - start <= MIN_WORD_SECONDS or env.duration == 0:
        return start, end
    if not env.loud[env.frame(start): env.frame(start) + 1].any():
        onset = env.next_onset(start, end)
        if onset is not None:
            start = min(onset, end - MIN_WORD_SECONDS)
    if not env.loud[max(env.frame(end) - 1, 0): env.frame(end)].any():
        offset = env.last_offset(start, end)
        if offset is not None:
            end = max(offset, start + MIN_WORD_SECONDS)
    return max(start, lo), min(end, hi)


def _split_pauses(spans: list[list[float]], env: Envelope) -> None:
    """A word that spans a pause (a quiet run of INNER_PAUSE_SECONDS or more inside it) keeps
    one side: the side away from a neighbour that abuts it (Whisper stretches the first word of
    an utterance back over the pause, and the last one forward), else the side with more speech.
    The abutting neighbour takes the other side's speech. In place, on [start, end] lists."""
    for i, (start, end) in enumerate(spans):
        quiet = env.longest_quiet(start, end)
        if quiet is None or quiet[1] - quiet[0] < INNER_PAUSE_SECONDS:
            continue
        prev_abuts = i > 0 and spans[i - 1][1] >= start - 0.05
        next_abuts = i + 1 < len(spans) and spans[i + 1][0] <= end + 0.05
        if prev_abuts != next_abuts:
            keep_right = prev_abuts
        else:
            keep_right = env.speech_seconds(quiet[1], end) >= env.speech_seconds(start, quiet[0])
        if keep_right:
            spans[i][0] = quiet[1]
            if prev_abuts:
                spans[i - 1][1] = max(spans[i - 1][1], quiet[0])
        else:
            spans[i][1] = quiet[0]
            if next_abuts:
                spans[i + 1][0] = min(spans[i + 1][0], quiet[1])


_SENTENCE_END = re.compile(r"(?:[.?!…。？！]|[-–—]|^[^\w]+)[\"')\]»”’]*$")
_ABUT_SECONDS = 0.05  # words closer than this are glued together
_ORPHAN_MIN_SPEECH = 0.15  # unclaimed speech a misplaced word may take


def _ends_sentence(text: str) -> bool:
    """A word that ends a sentence ("door!", "the-" cut off) or is punctuation alone ("-")."""
    return bool(_SENTENCE_END.search(text.strip()))


def _reattach_sentence_edges(words: Sequence[Word], spans: list[list[float]], env: Envelope) -> None:
    """Whisper sometimes places the last word of a sentence after the pause that ends it, glued
    to the first word of the next sentence ("… by the [pause] door! Kids are …"), while the
    speech it names lies unclaimed before the pause. Such a word goes back over that speech:
    when it ends a sentence, abuts the next word, and speech of at least 0.15 s lies between the
    previous word and it, followed by a quiet run of INNER_PAUSE_SECONDS or more. The mirror
    case (a sentence's first word glued to the end of the previous one, its speech after the
    pause) moves forward the same way. In place, on [start, end] lists."""
    n = len(spans)
    for i in range(n):
        start, end = spans[i]
        prev_end = spans[i - 1][1] if i else 0.0
        next_start = spans[i + 1][0] if i + 1 < n else env.duration
        if _ends_sentence(words[i].text) and i + 1 < n and next_start - end < _ABUT_SECONDS and i:
            runs = [r for r in env.runs(prev_end, start) if r[1] > prev_end + 0.01]
            if runs and sum(b - a for a, b in runs) >= _ORPHAN_MIN_SPEECH \
                    and start - runs[-1][1] >= INNER_PAUSE_SECONDS:
                spans[i] = [max(prev_end, runs[0][0]), runs[-1][1]]
        elif i and _ends_sentence(words[i - 1].text) and start - prev_end < _ABUT_SECONDS and i + 1 < n:
            runs = [r for r in env.runs(end, next_start) if r[0] < next_start - 0.01]
            if runs and sum(b - a for a, b in runs) >= _ORPHAN_MIN_SPEECH \
                    and runs[0][0] - end >= INNER_PAUSE_SECONDS and not env.speech_seconds(start, end) > 0.3:
                spans[i] = [runs[0][0], min(next_start, runs[-1][1])]


def _spread(words: list[Word], lo: float, hi: float, env: Envelope) -> list[tuple[float, float]]:
    """[lo, hi) cut into one span per word, in proportion to characters, over the speech frames
    in it (evenly in time when it holds none)."""
    weights = [max(len(norm_text(w.text)), 1) for w in words]
    a, b = env.frame(lo), env.frame(hi)
    loud = [k for k in range(a, b) if env.loud[k]] if b > a else []
    if len(loud) * FRAME_SECONDS < len(words) * _FLOOR_SECONDS:
        loud = []
    total, spans, acc = sum(weights), [], 0
    for weight in weights:
        f0, f1 = acc / total, (acc + weight) / total
        acc += weight
        if loud:
            i0, i1 = int(round(f0 * len(loud))), max(int(round(f1 * len(loud))) - 1, int(round(f0 * len(loud))))
            s, e = loud[i0] * FRAME_SECONDS, (loud[min(i1, len(loud) - 1)] + 1) * FRAME_SECONDS
        else:
            s, e = lo + f0 * (hi - lo), lo + f1 * (hi - lo)
        spans.append((s, e))
    # Keep them in order and at least the floor long inside [lo, hi).
    out, t = [], lo
    for k, (s, e) in enumerate(spans):
        s = max(s, t)
        room_after = (len(spans) - k - 1) * _FLOOR_SECONDS
        e = min(max(e, s + _FLOOR_SECONDS), hi - room_after)
        s = min(s, e - _FLOOR_SECONDS)
        out.append((s, e))
        t = e
    return out


def repair_words(words: Sequence[Word], env: Envelope, duration: float) -> list[Word]:
    """Words in time order, each at least 40 ms long (100 ms where there is room), none
    overlapping the next, edges snapped out of silence, sentence-final words on their own side of
    the pause that ends the sentence. Text and probabilities are kept."""
    words = sorted(words, key=lambda w: (w.start, w.end))
    if not words:
        return []
    # 1. cut words that span a pause to one side of it, then snap edges to speech
    cut = [[w.start, max(w.end, w.start)] for w in words]
    if env.duration:
        _reattach_sentence_edges(words, cut, env)
        _split_pauses(cut, env)
    spans = [_snap(Word(w.text, s, e, w.probability), env, 0.0, duration) for w, (s, e) in zip(words, cut)]
    # 2. find clusters: words too short, or overlapping their neighbour, with those they touch
    n, out, i = len(words), [], 0
    while i < n:
        s, e = spans[i]
        ok = e - s >= _FLOOR_SECONDS and (i + 1 == n or spans[i + 1][0] >= e - 1e-6)
        if ok:
            out.append(_word(words[i], s, e))
            i += 1
            continue
        j = i + 1
        hi = e
        while j < n and (spans[j][0] < hi - 1e-6 or spans[j][1] - spans[j][0] < _FLOOR_SECONDS
                         or spans[j - 1][1] - spans[j - 1][0] < _FLOOR_SECONDS and spans[j][0] - hi < 0.05):
            hi = max(hi, spans[j][1])
            j += 1
        lo = min(s, min(sp[0] for sp in spans[i:j]))
        prev_end = out[-1].end if out else 0.0
        next_start = spans[j][0] if j < n else duration
        need = (j - i) * MIN_WORD_SECONDS
        # 3. grow the cluster's span over the speech that touches it, then into quiet, as needed
        if hi - lo < need:
            touching = [r for r in env.runs(prev_end, next_start) if r[1] >= lo - 0.2 and r[0] <= hi + 0.2]
            if touching:
                lo, hi = min(lo, touching[0][0]), max(hi, touching[-1][1])
        if hi - lo < need:
            grow = (need - (hi - lo)) / 2
            lo, hi = max(prev_end, lo - grow), min(next_start, hi + grow)
        lo, hi = max(lo, prev_end), min(hi, next_start if j < n else duration)
        if hi - lo < (j - i) * _FLOOR_SECONDS:  # no room: take what the neighbours leave
            hi = min(max(hi, lo + (j - i) * _FLOOR_SECONDS), duration)
            lo = max(0.0, min(lo, hi - (j - i) * _FLOOR_SECONDS))
        for w, (a, b) in zip(words[i:j], _spread(words[i:j], lo, hi, env)):
            out.append(_word(w, a, b))
        i = j
    # 4. a word pushed into its successor (no room at all) shifts the successor
    for k in range(1, len(out)):
        if out[k].start < out[k - 1].end:
            start = out[k - 1].end
            out[k] = _word(out[k], start, max(out[k].end, start + _FLOOR_SECONDS))
    return [w if w.end <= duration else _word(w, min(w.start, duration - _FLOOR_SECONDS), duration) for w in out]
