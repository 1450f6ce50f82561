"""Everything the head trains and is evaluated on, with encoder features loaded from the cache."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..constants import EMOTIONS, HEAD_FRAMES_PER_SECOND
from ..emotion.features import DEFAULT_AUDIO_LAYERS, AudioEncoder, TextEncoder
from .corpora import Clip, Sentence, read_clips, read_emobank, read_goemotions, read_meld
from .extract import clip_frames, text_tokens
from .feature_cache import RaggedArrays

__all__ = ["SentenceSet", "TrainingData", "AudioNormaliser", "load_training_data", "TEXT_TRAIN_SAMPLE"]

TEXT_TRAIN_SAMPLE = 16_000  # GoEmotions train sentences the head sees (of ~36,000 single-label rows)


@dataclass
class SentenceSet:
    sentences: list[Sentence]
    tokens: RaggedArrays

    def by_label(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(self.sentences):
            if s.label is not None:
                groups[s.label].append(i)
        return groups


@dataclass
class TrainingData:
    clips: list[Clip]
    frames: RaggedArrays
    clip_text: RaggedArrays
    text: dict[str, SentenceSet]  # goemotions-train, meld-test, emobank, ...
    audio_encoder: str
    text_encoder: str
    labels: tuple[str, ...] = EMOTIONS
    frame_layers: tuple[int, ...] = DEFAULT_AUDIO_LAYERS  # encoder layers side by side in ``frames``
    text_delta: Path | None = None  # the fine-tuned text layers the token embeddings came from
    # Frames of some clips encoded alone, each in its own zero-padded 30 s chunk, as ``render``
    # encodes one short clip (training.alone): clip index -> float16 frames of all layers.
    alone: dict[int, np.ndarray] = field(default_factory=dict)
    # Frames of some clips' augmented audio (training.augment: noise, room, phone band, MP3, a
    # second voice), each encoded alone like ``alone``: clip index -> float16 frames of all layers.
    augmented: dict[int, np.ndarray] = field(default_factory=dict)

    def layer_columns(self, layers: tuple[int, ...]) -> np.ndarray:
        """Columns of ``frames`` that hold the given encoder layers, in that order."""
        missing = sorted(set(layers) - set(self.frame_layers))
        if missing:
            raise ValueError(f"the feature cache holds layers {self.frame_layers}, not {missing}")
        width = self.frames.data.shape[1] // len(self.frame_layers)
        return np.concatenate([np.arange(width) + width * self.frame_layers.index(k) for k in layers])

    def corpus_labels(self, indices: list[int]) -> dict[str, np.ndarray]:
        """Which labels each corpus has (bool per class), from the clips given."""
        present: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(self.labels), bool))
        for i in indices:
            present[self.clips[i].corpus][self.labels.index(self.clips[i].label)] = True
        return dict(present)


class AudioNormaliser:
    """Global frame statistics, each recording's (here: speaker's) mean blended in by ``weight``,
    over the columns of the encoder layers a head uses; with ``seconds`` (k > 0) the weight shrinks
    with the seconds the mean is taken over, w·s/(s+k).

    The same arithmetic as ``emotion.recognise`` at render time: a packed speaker is one long
    recording, a clip encoded alone (``alone_clip``) is a recording of its own.
    """

    def __init__(self, data: TrainingData, mean: np.ndarray, std: np.ndarray, weight: float,
                 layers: tuple[int, ...], seconds: float = 0.0, only: list[int] | None = None):
        """``only``: the clips that will be asked for (their speakers' centres are all that is computed)."""
        self.data, self.mean, self.std, self.weight, self.seconds = data, mean, std, weight, seconds
        self.columns = data.layer_columns(layers)
        self._speaker_of = [clip.speaker or clip.corpus for clip in data.clips]
        self._centres: dict[str, np.ndarray] = {}
        if weight:
            by_speaker: dict[str, list[int]] = defaultdict(list)
            wanted = None if only is None else {self._speaker_of[i] for i in only}
            for i, speaker in enumerate(self._speaker_of):
                if wanted is None or speaker in wanted:
                    by_speaker[speaker].append(i)
            for speaker, indices in by_speaker.items():
                total = sum(self.raw(i).sum(axis=0, dtype=np.float64) for i in indices)
                count = sum(len(data.frames[i]) for i in indices)
                w = self.shrunk(count)
                self._centres[speaker] = (1 - w) * mean + w * (total / max(count, 1)).astype(np.float32)

    def shrunk(self, frames: int) -> float:
        """The weight of a recording mean taken over ``frames`` frames (25 a second)."""
        if self.seconds <= 0:
            return self.weight
        s = frames / HEAD_FRAMES_PER_SECOND
        return self.weight * s / (s + self.seconds)

    def augmented_clip(self, i: int) -> np.ndarray:
        """Clip ``i``'s augmented audio encoded alone, normalised as ``render`` normalises it."""
        return self._as_recording(np.asarray(self.data.augmented[i])[:, self.columns])

    def _as_recording(self, frames: np.ndarray) -> np.ndarray:
        """``frames`` normalised as ``render`` normalises a recording made of them alone."""
        frames = frames.astype(np.float32)
        w = self.shrunk(len(frames)) if self.weight else 0.0
        centre = self.mean if w == 0 else (1 - w) * self.mean + w * frames.astype(np.float64).mean(axis=0)
        return ((frames - centre) / self.std).astype(np.float32)

    def self_centred_clip(self, i: int) -> np.ndarray:
        """Clip ``i``'s packed frames centred as if the clip were a recording of its own: what
        ``render`` does with one short clip, whose speaker's voice it has no other sample of."""
        return self._as_recording(self.raw(i))

    def alone_clip(self, i: int) -> np.ndarray:
        """Clip ``i`` encoded alone, normalised as ``render`` normalises that one clip."""
        return self._as_recording(np.asarray(self.data.alone[i])[:, self.columns])

    def raw(self, i: int) -> np.ndarray:
        """Clip ``i``'s frames of the chosen layers, float32, not normalised."""
        return np.asarray(self.data.frames[i], np.float32)[:, self.columns]

    @classmethod
    def fit(cls, data: TrainingData, train_indices: list[int], weight: float,
            layers: tuple[int, ...], seconds: float = 0.0) -> "AudioNormaliser":
        columns = data.layer_columns(layers)
        sample = np.concatenate([np.asarray(data.frames[i], np.float32)[:, columns] for i in train_indices[::5]])
        return cls(data, sample.mean(axis=0), sample.std(axis=0) + 1e-5, weight, layers, seconds)

    def clip(self, i: int) -> np.ndarray:
        centre = self._centres.get(self._speaker_of[i], self.mean)
        return (self.raw(i) - centre) / self.std


def load_training_data(data_dir: Path, cache_dir: Path, device: str = "cpu",
                       progress: Callable[[str, int, int], None] | None = None,
                       text_delta: Path | None = None) -> TrainingData:
    """Read every corpus under ``data_dir`` and its encoder features (extracting what is missing);
    token embeddings come from MiniLM with ``text_delta``'s fine-tuned layers when given."""
    data_dir = Path(data_dir)
    clips = read_clips(data_dir / "emotional_speech" / "labels.csv")
    rng = random.Random(0)
    goemotions = read_goemotions(data_dir / "text" / "goemotions_ekman", "train")
    emobank = read_emobank(data_dir / "text" / "emobank" / "emobank.csv")
    emobank_train = [x for x in emobank if x.split == "train"]
    sentence_sets = {
        # Seeded samples of the two largest training sets: the head draws 8,000 sentences an epoch,
        # and encoding all of them costs more CPU time than training the head.
        "goemotions-train": rng.sample(goemotions, min(len(goemotions), TEXT_TRAIN_SAMPLE)),
        "goemotions-test": read_goemotions(data_dir / "text" / "goemotions_ekman", "test"),
        **{f"meld-{s}": read_meld(data_dir / "text" / "meld", s) for s in ("train", "test")},
        "emobank": [x for x in emobank if x.split == "test"]
        + rng.sample(emobank_train, min(TEXT_TRAIN_SAMPLE // 4, len(emobank_train))),
    }

    def report(stage):
        return (lambda done, total: progress(stage, done, total)) if progress else None

    text_encoder = TextEncoder(device=device, delta=text_delta)
    text = {name: SentenceSet(s, text_tokens([x.text for x in s], text_encoder, cache_dir, name, report(name)))
            for name, s in sentence_sets.items()}
    clip_text = text_tokens([c.text for c in clips], text_encoder, cache_dir, "clips", report("clip transcripts"))
    audio_encoder = AudioEncoder(device=device)
    frames = clip_frames(clips, audio_encoder, cache_dir, report("clip audio"))
    return TrainingData(clips, frames, clip_text, text, audio_encoder.identity, text_encoder.identity,
                        text_delta=text_delta)
