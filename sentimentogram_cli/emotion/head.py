"""The shipped emotion head: checkpoint file, its metadata, and batched prediction.

A checkpoint is one safetensors file: the model's weights, the audio normalisation statistics,
and metadata (label list, model config, the encoders it was trained on, window settings,
normalisation settings, version). Loading it next to other encoders is a clear error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..assets import head_checkpoint_path
from ..constants import HEAD_FRAMES_PER_SECOND
from ..errors import ModelError
from .checkpoint import CHECKPOINT_FORMAT, HeadMetadata, head_metadata
from .fusion import FusedEmotionModel, FusionConfig

__all__ = ["CHECKPOINT_FORMAT", "HeadMetadata", "EmotionHead", "WindowPredictions", "pad_batch"]


@dataclass
class WindowPredictions:
    probabilities: np.ndarray  # (N, classes)
    vad: np.ndarray  # (N, 3): valence, arousal, dominance in 0..1
    gates: np.ndarray  # (N, 2): text, audio
    logits: np.ndarray  # (N, classes), before temperature scaling (for calibration)


def pad_batch(sequences: list[np.ndarray | None], dim: int, max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded (B, L, dim) tensor and its (B, L) mask; None or empty → an all-False row."""
    lengths = [0 if s is None else min(len(s), max_len or len(s)) for s in sequences]
    width = max(1, max(lengths, default=1))
    batch = np.zeros((len(sequences), width, dim), dtype=np.float32)
    mask = np.zeros((len(sequences), width), dtype=bool)
    for i, (s, n) in enumerate(zip(sequences, lengths)):
        if n:
            batch[i, :n] = s[:n]
            mask[i, :n] = True
    return torch.from_numpy(batch), torch.from_numpy(mask)


class EmotionHead:
    def __init__(self, model: FusedEmotionModel, metadata: HeadMetadata,
                 audio_mean: np.ndarray, audio_std: np.ndarray, device: str = "cpu"):
        self.model = model.to(device).eval()
        self.metadata = metadata
        self.audio_mean = audio_mean.astype(np.float32)
        self.audio_std = audio_std.astype(np.float32)
        self.device = device

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.config.labels

    def normalise_recording(self, frames: np.ndarray) -> np.ndarray:
        """Standardise one recording's frames with the global statistics, recentred on a
        shrunk blend of the recording's own mean (weight from the checkpoint)."""
        w = self.metadata.recording_mean_weight
        k = self.metadata.recording_mean_seconds
        if k > 0:
            seconds = len(frames) / HEAD_FRAMES_PER_SECOND
            w = w * seconds / (seconds + k)
        centre = self.audio_mean if w == 0 or len(frames) == 0 else (1 - w) * self.audio_mean + w * frames.mean(axis=0)
        return (frames - centre) / self.audio_std

    @torch.inference_mode()
    def predict(self, text_tokens: list[np.ndarray | None], audio_frames: list[np.ndarray | None],
                batch_size: int = 128) -> WindowPredictions:
        """One prediction per window; audio frames must already be normalised."""
        cfg = self.model.config
        probs, vads, gates, logits = [], [], [], []
        for b in range(0, len(audio_frames), batch_size):
            text, text_mask = pad_batch(text_tokens[b : b + batch_size], cfg.text_dim)
            audio, audio_mask = pad_batch(audio_frames[b : b + batch_size], cfg.audio_dim)
            out = self.model(text.to(self.device), text_mask.to(self.device),
                             audio.to(self.device), audio_mask.to(self.device))
            probs.append(torch.softmax(out.logits.float() / self.metadata.temperature, dim=-1).cpu().numpy())
            logits.append(out.logits.float().cpu().numpy())
            vads.append(out.vad.float().cpu().numpy())
            gates.append(out.gates.float().cpu().numpy())
        n = len(cfg.labels)
        return WindowPredictions(
            np.concatenate(probs) if probs else np.zeros((0, n), np.float32),
            np.concatenate(vads) if vads else np.zeros((0, 3), np.float32),
            np.concatenate(gates) if gates else np.zeros((0, 2), np.float32),
            np.concatenate(logits) if logits else np.zeros((0, n), np.float32),
        )

    def save(self, path: Path) -> None:
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        tensors["audio_mean"] = torch.from_numpy(self.audio_mean)
        tensors["audio_std"] = torch.from_numpy(self.audio_std)
        meta = {
            "format": CHECKPOINT_FORMAT,
            "config": self.model.config.to_json(),
            "metadata": json.dumps(self.metadata.__dict__),
        }
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | None = None, device: str = "cpu", *,
             audio_encoder: str | None = None, text_encoder: str | None = None) -> "EmotionHead":
        """Load a checkpoint (the shipped one by default); name the encoders in use to check them."""
        metadata, meta = head_metadata(path, audio_encoder=audio_encoder, text_encoder=text_encoder)
        path = Path(path) if path else head_checkpoint_path()
        try:
            tensors = load_file(str(path))
        except Exception as exc:
            raise ModelError(f"{path} is not an emotion head checkpoint: {exc}") from exc
        try:
            model = FusedEmotionModel(FusionConfig.from_json(meta["config"]))
            model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        except (TypeError, KeyError, RuntimeError) as exc:
            raise ModelError(f"{path} does not fit this version's emotion model: retrain it or "
                             f"install the sentimentogram it came from") from exc
        return cls(model, metadata, tensors["audio_mean"].numpy(), tensors["audio_std"].numpy(), device)
