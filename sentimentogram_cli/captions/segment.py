"""Words -> cues: where each caption starts and ends, and where its two lines break.

Pure functions over a list of words (anything with ``text``, ``start``, ``end`` and, when speakers
ran, ``speaker``). First the words are parted into blocks that no cue may span: a silence of
``max_silence`` or more, or a change of speaker. Each block is then cut by dynamic programming
over the words, the cost of a cue being:

- where it ends (``breaks.break_cost``: sentence end best, never after an article);
- sentence ends inside it (fine at its line break, not in the middle of a line);
- its lines: one when the text fits ``max_chars``, else two, broken where the grammar allows and
  balanced; a cue that fits no layout is not a candidate (unless it is a single long word);
- its timing: a cue whose words span more than ``max_duration`` is not a candidate; one that
  cannot be shown long enough for ``max_cps`` or ``min_duration`` (even when held into the gap
  after it) costs more than any grammar, so the rules win;
- a one-word cue costs a lot unless its block is that one word (an answer between silences);
- a pause inside a cue costs by its length (its later words would be shown long before they are
  said), so sentences parted by a clear pause get cues of their own when the rules allow.

Timing (``timing.py``) then sets each cue's start and end. Words are never dropped or changed:
the cues hold every word once, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from .breaks import break_cost, is_sentence_end, token
from .rules import CaptionRules

__all__ = ["TimedWord", "Layout", "blocks", "line_text", "segment"]

_RULE_COST = 25.0  # a cue that cannot meet reading speed or minimum duration
_HOPELESS_COST = 1.5  # ... in a block no cut can read slowly enough
_ONE_WORD = 10.0  # a one-word cue inside a longer utterance
_CUE = 1.0  # every cue: fewer, fuller cues when the grammar does not care
_INNER_SENTENCE = 2.5  # a sentence ends inside a line of the cue ("door! Kids are…")
_INNER_SENTENCE_AT_BREAK = 0.3  # ... at the cue's line break (one sentence a line: fine)
_CUE_END_WEIGHT = 2.0  # a sentence parted across cues is worse than one parted across lines
_LINE_BREAK_WEIGHT = 0.6  # a line break is judged by the same rules, a little less strictly
_BALANCE = 3.0  # per line-length difference of max_chars
_INNER_PAUSE = 2.0  # per second of pause beyond _PAUSE_FREE inside a cue: text shown long before it is said
_PAUSE_FREE = 0.3
_TOP_HEAVY = 0.3  # the top line longer than the bottom one (a bottom-heavy pyramid reads best)


class TimedWord(Protocol):
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Layout:
    """One cue's words ``[first, stop)`` and where its lines break (``breaks``: the first word of
    each line after the first)."""

    first: int
    stop: int
    breaks: tuple[int, ...] = ()

    def lines(self) -> list[list[int]]:
        """The cue's lines as half-open ranges of word indices."""
        edges = [self.first, *self.breaks, self.stop]
        return [[a, b] for a, b in zip(edges, edges[1:])]


def line_text(words: Sequence[TimedWord], first: int, stop: int) -> str:
    """The text of words ``[first, stop)`` as a caption shows it: the words as recognised (Whisper's
    carry their leading space), runs of white space made one, nothing before or after."""
    return " ".join("".join(w.text for w in words[first:stop]).split())


def _speaker(word: TimedWord) -> str | None:
    return getattr(word, "speaker", None)


def blocks(words: Sequence[TimedWord], rules: CaptionRules) -> list[tuple[int, int]]:
    """``[first, stop)`` ranges of words that a cue may span: parted at every silence of
    ``rules.max_silence`` or more and at every change of speaker."""
    out, first = [], 0
    for i in range(1, len(words)):
        if words[i].start - words[i - 1].end >= rules.max_silence or _speaker(words[i]) != _speaker(words[i - 1]):
            out.append((first, i))
            first = i
    if words:
        out.append((first, len(words)))
    return out


class _Block:
    """The costs of cutting one block, with the prefix sums that make each cue's cost cheap."""

    def __init__(self, words: Sequence[TimedWord], first: int, stop: int, rules: CaptionRules,
                 end_limit: float | None) -> None:
        self.words, self.first, self.stop, self.rules = words, first, stop, rules
        self.tokens = [token(w.text) for w in words[first:stop]]
        # Length of words [i, j) on one line == len(tokens[i]) + pre[j] - pre[i + 1].
        # A word adds its text and, when it begins with white space, one space before it.
        self.pre = [0]
        for k, (t, w) in enumerate(zip(self.tokens, words[first:stop])):
            self.pre.append(self.pre[-1] + len(t) + (1 if k and t and w.text[:1].isspace() else 0))
        self.end_limit = end_limit
        # A block read too fast whichever way it is cut (its speech outruns the reading speed over
        # all the time it may be shown): every cue of it breaks the speed, so a breach costs
        # little more than grammar, and the cuts follow the grammar instead of merging cues.
        n = stop - first
        self.hopeless = n > 1 and self.length(0, n) > rules.max_cps * self.available(0, n, capped=False)

    def length(self, i: int, j: int) -> int:
        """Characters of block words [i, j) on one line (relative indices)."""
        return len(self.tokens[i]) + self.pre[j] - self.pre[i + 1] if j > i else 0

    def cut_cost(self, k: int) -> float:
        """Cost of a break between block words k - 1 and k."""
        return break_cost(self.tokens[k - 1], self.tokens[k])

    def layout(self, i: int, j: int) -> tuple[float, tuple[int, ...]] | None:
        """The best lines for block words [i, j): (cost, line breaks), None when none fits."""
        r = self.rules
        if self.length(i, j) <= r.max_chars:
            return 0.0, ()
        if r.max_lines < 2:
            return None
        best: tuple[float, tuple[int, ...]] | None = None
        for m in range(i + 1, j):
            top, bottom = self.length(i, m), self.length(m, j)
            if top > r.max_chars:
                break
            if bottom > r.max_chars:
                continue
            cost = _LINE_BREAK_WEIGHT * self.cut_cost(m) + _BALANCE * abs(top - bottom) / r.max_chars
            cost += _TOP_HEAVY if top > bottom + 4 else 0.0
            if best is None or cost < best[0]:
                best = (cost, (m,))
        if best is None and r.max_lines > 2:  # three or more lines: the lines filled greedily
            edges, start = [], i
            for m in range(i + 1, j):
                if self.length(start, m + 1) > r.max_chars:
                    edges.append(m)
                    start = m
            if len(edges) < r.max_lines and all(self.length(a, b) <= r.max_chars
                                                for a, b in zip([i, *edges], [*edges, j])):
                best = (1.0, tuple(edges))
        return best

    def available(self, i: int, j: int, capped: bool = True) -> float:
        """The longest time cue [i, j) could be shown: its words, the gap after it (all of it
        inside the block, what the next block leaves after its own lead otherwise) and, for a
        block's first cue, the lead before its first word."""
        r, words, a = self.rules, self.words, self.first
        start, end = words[a + i].start, words[a + j - 1].end
        lead = 0.0
        if i == 0:
            before = words[a - 1].end if a > 0 else 0.0
            lead = max(0.0, min(r.max_lead, start - before - r.min_gap))
        if a + j < len(words):
            gap = words[a + j].start - end
            tail = gap if j < self.stop - a else max(0.0, gap - r.min_gap - r.max_lead)
        else:
            tail = r.max_duration if self.end_limit is None else max(0.0, self.end_limit - end)
        return min(r.max_duration if capped else float("inf"), end - start + lead + max(0.0, tail))

    def cue_cost(self, i: int, j: int) -> tuple[float, tuple[int, ...]] | None:
        r, n = self.rules, self.stop - self.first
        words, a = self.words, self.first
        if j - i > 1 and words[a + j - 1].end - words[a + i].start > r.max_duration:
            return None
        laid = self.layout(i, j)
        if laid is None:
            if j - i > 1:
                return None
            laid = (_RULE_COST, ())  # a single word longer than a line: shown as it is
        cost, line_breaks = laid
        cost += _CUE + (_CUE_END_WEIGHT * self.cut_cost(j) if j < n else 0.0)
        for k in range(i, j - 1):
            if is_sentence_end(self.tokens[k]):
                cost += _INNER_SENTENCE_AT_BREAK if k + 1 in line_breaks else _INNER_SENTENCE
        if j - i == 1 and n > 1:
            cost += _ONE_WORD
        for k in range(a + i + 1, a + j):  # a cue across a pause shows the later words early
            cost += _INNER_PAUSE * max(0.0, words[k].start - words[k - 1].end - _PAUSE_FREE)
        chars = sum(self.length(x, y) for x, y in zip((i, *line_breaks), (*line_breaks, j)))
        avail = self.available(i, j)
        need = max(r.min_duration, chars / r.max_cps)
        if avail + 1e-9 < r.min_duration:  # too short: always avoidable by cutting elsewhere
            cost += _RULE_COST * (1.0 + (need - avail) / need)
        elif avail + 1e-9 < need:  # too fast
            cost += (_HOPELESS_COST if self.hopeless else _RULE_COST) * (1.0 + (need - avail) / need)
        return cost, line_breaks

    def cut(self) -> list[Layout]:
        n = self.stop - self.first
        max_len = self.rules.max_chars * self.rules.max_lines + 1
        best: list[float] = [0.0] + [float("inf")] * n
        back: list[tuple[int, tuple[int, ...]]] = [(0, ())] * (n + 1)
        for i in range(n):
            if best[i] == float("inf"):
                continue
            for j in range(i + 1, n + 1):
                if j - i > 1 and self.length(i, j) > max_len:
                    break
                found = self.cue_cost(i, j)
                if found is None:
                    if j - i > 1 and self.words[self.first + j - 1].end - self.words[self.first + i].start \
                            > self.rules.max_duration:
                        break
                    continue
                total = best[i] + found[0]
                if total < best[j]:
                    best[j], back[j] = total, (i, found[1])
        out, j = [], n
        while j > 0:
            i, line_breaks = back[j]
            out.append(Layout(self.first + i, self.first + j, tuple(self.first + m for m in line_breaks)))
            j = i
        return out[::-1]


def segment(words: Sequence[TimedWord], rules: CaptionRules, end_limit: float | None = None) -> list[Layout]:
    """The cues of ``words`` (their words and line breaks, not yet timed), block by block.
    ``end_limit``: the media's duration, so the last cue is not held past it."""
    out: list[Layout] = []
    for first, stop in blocks(words, rules):
        out += _Block(words, first, stop, rules, end_limit).cut()
    return out
