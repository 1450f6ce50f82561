"""Captions a viewer reads: the words of an analysis cut into cues by the subtitle rules (Netflix
Timed Text Style Guide, BBC guidelines), the one segmentation the page, VTT, SRT, ASS and burn
all show.

- ``CaptionRules``: the rules (42 characters a line, 2 lines, 5/6 s to 7 s, 20 characters a
  second, 2-frame gaps, no cue across a long silence or a change of speaker);
- ``cut_cues(words, rules)``: words -> cues (``segment`` then ``timing``), pure;
- ``cues_for(analysis, rules)``: the analysis' own cues when they were cut by these rules,
  otherwise cues cut now (documents of schema 3 have none);
- ``check_cues``: which rules each cue breaks (tests and the benchmark).

Cues sit apart from the emotion stage: utterances still bound the emotion windows; cues are for
reading. Words are never dropped or changed.
"""

from __future__ import annotations

from typing import Sequence

from ..document import Analysis, Cue
from .check import EXTRA, RULES, CueReport, check_cues, verbatim
from .rules import FRAME, CaptionRules
from .segment import Layout, TimedWord, blocks, line_text, segment
from .timing import cue_chars, time_cues

__all__ = ["CaptionRules", "FRAME", "Layout", "RULES", "EXTRA", "CueReport", "cut_cues", "cues_for",
           "cue_text", "cue_chars", "check_cues", "verbatim", "blocks", "line_text", "segment", "time_cues"]


def cut_cues(words: Sequence[TimedWord], rules: CaptionRules | None = None,
             end_limit: float | None = None) -> list[Cue]:
    """The cues of ``words`` by ``rules`` (default: adult rules). ``end_limit``: the media's
    duration, so no cue is held past the end."""
    rules = rules or CaptionRules()
    return time_cues(words, segment(words, rules, end_limit), rules, end_limit)


def cues_for(analysis: Analysis, rules: CaptionRules | None = None) -> list[Cue]:
    """The cues every export shows: ``analysis.cues`` when present, cut by ``rules`` (or
    ``rules`` is None) and true to the words (every word once, no cue across speakers), otherwise
    cues cut now by ``rules`` (default: the document's rules, else adult rules)."""
    words = analysis.words
    if analysis.cues and verbatim(words, analysis.cues) and _one_speaker_each(words, analysis.cues) and (
            rules is None or _same_rules(analysis.caption_rules, rules)):
        return analysis.cues
    if rules is None and analysis.caption_rules:
        try:
            rules = CaptionRules.from_dict(analysis.caption_rules)
        except ValueError:
            rules = None
    return cut_cues(words, rules, analysis.duration or None)


def cue_text(analysis_or_words: Analysis | Sequence[TimedWord], cue: Cue) -> list[str]:
    """A cue's text lines."""
    words = analysis_or_words.words if isinstance(analysis_or_words, Analysis) else analysis_or_words
    return [line_text(words, a, b) for a, b in cue.lines]


def _one_speaker_each(words: Sequence[TimedWord], cues: Sequence[Cue]) -> bool:
    """Whether no cue spans a change of speaker (cues cut before speakers were found may)."""
    return all(len({getattr(words[i], "speaker", None) for i in cue.word_indices()}) <= 1 for cue in cues)


def _same_rules(recorded: dict[str, float], rules: CaptionRules) -> bool:
    wanted = rules.to_dict()
    return bool(recorded) and all(abs(float(recorded.get(k, float("nan"))) - v) < 1e-9 for k, v in wanted.items())
