"""Readers for the training corpora: emotional speech clips and emotion-labelled sentences."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..constants import EMOTIONS

__all__ = ["Clip", "Sentence", "read_clips", "read_goemotions", "read_meld", "read_emobank",
           "load_clip_audio", "clips_by_speaker", "packing_order"]

# Source label names -> ours (RAVDESS calm -> neutral, MELD joy -> happy).
_LABEL_ALIASES = {
    "calm": "neutral", "joy": "happy", "sadness": "sad", "anger": "angry", "fearful": "fear",
    "surprised": "surprise",
}
GOEMOTIONS_IDS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")


def canonical_label(name: str) -> str:
    name = name.strip().lower()
    return _LABEL_ALIASES.get(name, name)


@dataclass
class Clip:
    path: Path
    label: str
    corpus: str
    speaker: str
    language: str
    text: str


@dataclass
class Sentence:
    text: str
    label: str | None  # None for EmoBank rows (VAD only)
    vad: tuple[float, float, float] | None  # 0..1, EmoBank only
    source: str
    split: str
    context: str = ""  # the line before it in its dialogue (MELD), else empty


def read_clips(labels_csv: Path) -> list[Clip]:
    """Rows of a clip CSV: ``path`` relative to the CSV and ``label``; other columns optional."""
    labels_csv = Path(labels_csv)
    root = labels_csv.parent
    clips = []
    with labels_csv.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            clips.append(Clip(
                path=root / row["path"],
                label=canonical_label(row["label"]),
                corpus=row.get("corpus") or labels_csv.parent.name,
                speaker=row.get("speaker") or "",
                language=row.get("language") or "",
                text=(row.get("text") or "").strip(),
            ))
    return clips


def load_clip_audio(path: Path) -> np.ndarray:
    """16 kHz mono float32; the shared corpora are already stored so, others go through ffmpeg."""
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        if rate == 16_000:
            return audio.mean(axis=1)
    except Exception:  # formats libsndfile cannot read (mp3/m4a): decode with ffmpeg instead
        pass
    from ..media import decode_audio

    return decode_audio(path)


def clips_by_speaker(clips: Sequence[Clip], indices: Iterable[int]) -> dict[str, list[int]]:
    """The ``indices`` of ``clips`` grouped by speaker (a clip without one counts as its corpus's)."""
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        by_speaker[clips[i].speaker or clips[i].corpus].append(i)
    return by_speaker


def packing_order(clips: list[Clip], seed: int = 0) -> list[int]:
    """Clip indices grouped by speaker, shuffled within each speaker.

    Neighbours in a packed 30 s chunk are then the same voice in other emotions, as in a video.
    """
    by_speaker = clips_by_speaker(clips, range(len(clips)))
    rng = random.Random(seed)
    order = []
    for speaker in sorted(by_speaker):
        indices = by_speaker[speaker]
        rng.shuffle(indices)
        order.extend(indices)
    return order


def read_goemotions(folder: Path, split: str) -> list[Sentence]:
    """Single-label GoEmotions (Ekman) rows; multi-label rows are dropped."""
    sentences = []
    with (Path(folder) / f"{split}.tsv").open(encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or "," in parts[1]:
                continue
            label = canonical_label(GOEMOTIONS_IDS[int(parts[1])])
            sentences.append(Sentence(parts[0], label, None, "goemotions", split))
    return sentences


def read_meld(folder: Path, split: str) -> list[Sentence]:
    """MELD utterances, each with the one before it in its dialogue as ``context`` (rows are in
    dialogue order: ``Dialogue_ID``, then ``Utterance_ID``)."""
    sentences: list[Sentence] = []
    previous: tuple[str, str] = ("", "")  # dialogue id, its last utterance
    with (Path(folder) / f"{split}_sent_emo.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["Utterance"].replace("\x92", "'")
            context = previous[1] if previous[0] == row["Dialogue_ID"] else ""
            sentences.append(Sentence(text, canonical_label(row["Emotion"]), None, "meld", split, context))
            previous = (row["Dialogue_ID"], text)
    return sentences


def read_emobank(path: Path) -> list[Sentence]:
    """EmoBank V, A, D on 1..5, rescaled to 0..1; its own split column is kept."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        return [
            Sentence(row["text"], None, tuple((float(row[k]) - 1) / 4 for k in "VAD"), "emobank", row["split"])
            for row in csv.DictReader(f)
        ]


def label_index(label: str, labels: tuple[str, ...] = EMOTIONS) -> int:
    return labels.index(label)
