"""The CORAL alignment term of fine-tuning (Sun & Saenko, 2016): the moments of the pooled clip
representation on the head's own training clips, and the loss pulling a batch's moments to them.

Apart from ``finetune.py`` because only the optional ``alignment`` setting and the
leave-one-corpus-out comparison (``research/adaptation_report.py``) use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..emotion.fusion import FusedEmotionModel
from ..emotion.head import pad_batch
from .samples import crop_frames

__all__ = ["SourceMoments", "PooledHook", "pooled_features", "source_moments", "coral_loss"]


@dataclass
class SourceMoments:
    """Mean and covariance of the pooled clip representation on the head's own training clips."""

    mean: torch.Tensor  # (d,)
    covariance: torch.Tensor  # (d, d)


class PooledHook:
    """Captures the pooled clip representation entering the output layer (classifier hidden)."""

    def __init__(self, model: FusedEmotionModel):
        self.value: torch.Tensor | None = None
        self.handle = model.classifier[2].register_forward_hook(self._keep)

    def _keep(self, module, inputs, output):
        self.value = output


@torch.inference_mode()
def pooled_features(model: FusedEmotionModel, audio: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """The pooled clip representation (what CORAL aligns) of centre-cropped clips, audio only."""
    model.eval()
    hook = PooledHook(model)
    out = []
    try:
        for b in range(0, len(audio), batch_size):
            a, a_mask = pad_batch([crop_frames(np.asarray(x, np.float32), None) for x in audio[b : b + batch_size]],
                                  model.config.audio_dim)
            t, t_mask = pad_batch([None] * len(a), model.config.text_dim)
            model(t, t_mask, a, a_mask)
            out.append(hook.value.float().numpy())
    finally:
        hook.handle.remove()
    return np.concatenate(out)


def source_moments(features: np.ndarray) -> SourceMoments:
    x = torch.from_numpy(np.asarray(features, np.float32))
    return SourceMoments(x.mean(dim=0), torch.cov(x.T))


def coral_loss(z: torch.Tensor, source: SourceMoments) -> torch.Tensor:
    """Deep CORAL (Sun & Saenko, 2016): ‖C_t − C_s‖²_F / 4d², plus the squared mean gap / d."""
    d = z.shape[1]
    mean = z.mean(dim=0)
    centred = z - mean
    cov = centred.T @ centred / max(len(z) - 1, 1)
    return ((cov - source.covariance) ** 2).sum() / (4 * d * d) + ((mean - source.mean) ** 2).sum() / d
