"""The paper's emotion stage, rebuilt only as a speed baseline for ``speed.py`` (never shipped).

The paper classifies each *word group* (consecutive words spanning at least 0.3 s) on its own:
it re-reads that span of the audio from disk, runs the audio encoder once on it, runs the text
encoder once on the group's words, and calls the classifier once; nothing is batched or shared
between groups. Here the same three models as ours do that work (Whisper-base encoder through
CTranslate2, MiniLM, our head), so the comparison measures the approach, not the models.

Choices that favour the reference (so the speed-up we report is not inflated):
- the audio is re-read from a 16 kHz WAV written once (a seek and a read with soundfile), not
  decoded from the video again per group, and writing that WAV is not timed;
- the Whisper encoder gets the group's audio padded to its fixed 30 s input, as openai-whisper
  (``pad_or_trim``) and the transformers feature extractor do by default; no extra work is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from sentimentogram_cli import SAMPLE_RATE, Word

__all__ = ["MIN_GROUP_SECONDS", "word_groups", "sample_groups", "write_wav", "read_span", "paper_emotions"]

MIN_GROUP_SECONDS = 0.3


def word_groups(words: Sequence[Word], min_seconds: float = MIN_GROUP_SECONDS) -> list[list[int]]:
    """Consecutive word indices, grouped until a group spans ``min_seconds``; a short tail joins
    the group before it (a recording shorter than that is one group)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i in range(len(words)):
        current.append(i)
        if words[i].end - words[current[0]].start >= min_seconds:
            groups.append(current)
            current = []
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def sample_groups(groups: list[list[int]], k: int) -> list[list[int]]:
    """``k`` evenly spaced groups, first and last included (all of them when ``k`` is 0 or at
    least their number): on a long input the reference's cost is timed on these and scaled."""
    if not k or k >= len(groups):
        return groups
    k = max(2, k)
    return [groups[round(i * (len(groups) - 1) / (k - 1))] for i in range(k)]


def write_wav(audio: np.ndarray, path: Path) -> Path:
    """The decoded recording as the 16 kHz WAV the reference re-reads its groups from."""
    sf.write(str(path), np.asarray(audio, dtype=np.float32), SAMPLE_RATE, subtype="FLOAT")
    return path


def read_span(wav: Path, start: float, end: float) -> np.ndarray:
    """Open the file, seek to ``start`` and read up to ``end`` (at least one sample)."""
    with sf.SoundFile(str(wav)) as f:
        f.seek(min(int(start * SAMPLE_RATE), max(0, f.frames - 1)))
        return f.read(max(1, int(round((end - start) * SAMPLE_RATE))), dtype="float32")


def paper_emotions(wav: Path, words: Sequence[Word], head, audio_encoder, text_encoder,
                   groups: list[list[int]] | None = None) -> np.ndarray:
    """Class probabilities per word (n_words, n_labels): each word takes its group's prediction.

    ``groups`` (default: ``word_groups(words)``) may be a subset, to time a sample of groups on
    a long input; words outside it keep zeros.
    """
    groups = word_groups(words) if groups is None else groups
    out = np.zeros((len(words), len(head.labels)), dtype=np.float32)
    for group in groups:
        start, end = words[group[0]].start, max(words[group[-1]].end, words[group[0]].start + 0.02)
        clip = read_span(wav, start, end)
        # One 30 s encoder call, padded as the paper's Whisper-style encoder pads every group.
        frames = head.normalise_recording(audio_encoder.encode(clip, pad_last=True))
        text = "".join(words[i].text for i in group).strip() or None
        tokens = text_encoder.embed([text])[0] if text else None  # one text-encoder call
        prediction = head.predict([tokens], [frames])  # one head call
        out[group] = prediction.probabilities[0]
    return out
