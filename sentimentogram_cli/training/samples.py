"""Training samples: audio clips, labelled sentences, and label-congruent pseudo-pairs.

No corpus here pairs real speech with emotional text, so the fused model sees (a) clips alone or
with their own emotionally flat transcript, (b) sentences alone, (c) a clip paired with a
sentence of the same label from a text corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..constants import CATEGORY_VAD, HEAD_FRAMES_PER_SECOND, WINDOW_SECONDS
from ..emotion.head import pad_batch

__all__ = ["Sample", "Batch", "collate", "crop_frames", "crop_and_mask", "WINDOW_FRAMES"]

WINDOW_FRAMES = int(WINDOW_SECONDS * HEAD_FRAMES_PER_SECOND)


@dataclass
class Sample:
    audio: np.ndarray | None  # normalised frames
    text: np.ndarray | None  # token embeddings
    label: int | None
    vad: tuple[float, float, float] | None
    allowed: np.ndarray  # bool per class


@dataclass
class Batch:
    text: torch.Tensor
    text_mask: torch.Tensor
    audio: torch.Tensor
    audio_mask: torch.Tensor
    labels: torch.Tensor
    label_mask: torch.Tensor
    vad: torch.Tensor
    vad_mask: torch.Tensor
    allowed: torch.Tensor
    paired: torch.Tensor


def crop_frames(frames: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """A window-length crop: random in training, centred in evaluation."""
    if len(frames) <= WINDOW_FRAMES:
        return frames
    start = rng.integers(0, len(frames) - WINDOW_FRAMES + 1) if rng is not None else (len(frames) - WINDOW_FRAMES) // 2
    return frames[start : start + WINDOW_FRAMES]


def crop_and_mask(frames: np.ndarray, rng: np.random.Generator, time_mask_rate: float) -> np.ndarray:
    """A random window-length crop with one stretch of ``time_mask_rate`` of its frames zeroed
    (the frame-space augmentation of training and of fine-tuning; noise is added per batch)."""
    frames = crop_frames(frames, rng)
    if time_mask_rate and len(frames) > 10:
        width = int(len(frames) * time_mask_rate)
        start = rng.integers(0, len(frames) - width)
        frames = frames.copy()
        frames[start : start + width] = 0.0
    return frames


def category_vad(label: str) -> tuple[float, float, float]:
    return CATEGORY_VAD[label]


def collate(samples: list[Sample], text_dim: int, audio_dim: int) -> Batch:
    text, text_mask = pad_batch([s.text for s in samples], text_dim)
    audio, audio_mask = pad_batch([s.audio for s in samples], audio_dim)
    return Batch(
        text=text, text_mask=text_mask, audio=audio, audio_mask=audio_mask,
        labels=torch.tensor([s.label if s.label is not None else 0 for s in samples]),
        label_mask=torch.tensor([s.label is not None for s in samples]),
        vad=torch.tensor([s.vad or (0.0, 0.0, 0.0) for s in samples], dtype=torch.float32),
        vad_mask=torch.tensor([s.vad is not None for s in samples]),
        allowed=torch.from_numpy(np.stack([s.allowed for s in samples])),
        paired=text_mask.any(1) & audio_mask.any(1),
    )
