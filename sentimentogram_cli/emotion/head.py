"""The shipped emotion head: checkpoint file, its metadata, and batched prediction.

A checkpoint is one safetensors file: the model's weights, the audio normalisation statistics,
and metadata (label list, model config, the encoders it was trained on, window settings,
normalisation settings, version). Loading it next to other encoders is a clear error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open

from ..assets import head_checkpoint_path, verify_shipped_head
from ..constants import HEAD_FRAMES_PER_SECOND
from ..errors import ModelError
from .features import AUDIO_FEATURES
from .fusion import FusedEmotionModel, FusionConfig

__all__ = ["CHECKPOINT_FORMAT", "HeadMetadata", "EmotionHead", "WindowPredictions", "pad_batch"]

CHECKPOINT_FORMAT = "sentimentogram-emotion-head/1"
# Heads trained before the layer features (sentimentogram 0.1) read Whisper base's last layer.
_LAST_LAYER_CONVENTION = "chunk30s-pool2-packed-by-speaker-v1"


@dataclass
class HeadMetadata:
    version: str
    audio_encoder: str
    text_encoder: str
    feature_convention: str
    window_seconds: float
    hop_seconds: float
    # Per-recording normalisation: the recording's mean frame, shrunk toward the training-set mean
    # by this weight (0 = global statistics only), so one long angry talk still reads angry.
    recording_mean_weight: float = 0.0
    # k (seconds): the weight above is shrunk by the amount of audio the mean is taken over,
    # w · s / (s + k) (0 = no shrinkage, the older heads): one short clip keeps most of the global
    # centre, a long talk takes its own (emotion.recognise.recording_weight).
    recording_mean_seconds: float = 0.0
    # Whisper-encoder layers whose hidden states make the audio frames (features.AudioEncoder).
    audio_layers: tuple[int, ...] = ()
    # Temperature scaling of the logits, fitted on validation speakers so confidences are calibrated.
    temperature: float = 1.0
    extra: dict = field(default_factory=dict)


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
        shipped = path is None or Path(path).resolve() == head_checkpoint_path().resolve()
        path = Path(path) if path else head_checkpoint_path()
        if not path.is_file():
            raise ModelError(f"emotion head checkpoint not found: {path}")
        if shipped:
            verify_shipped_head(path)
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
            tensors = load_file(str(path))
        except Exception as exc:
            raise ModelError(f"{path} is not an emotion head checkpoint: {exc}") from exc
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ModelError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint")
        metadata = HeadMetadata(**json.loads(meta["metadata"]))
        metadata.audio_layers = tuple(metadata.audio_layers)
        if metadata.feature_convention == _LAST_LAYER_CONVENTION and metadata.audio_encoder == "whisper-base":
            metadata.audio_layers = (6,)  # what CTranslate2's encode returned: the torch encoder's last layer
        elif not metadata.feature_convention.startswith(AUDIO_FEATURES) or not metadata.audio_layers:
            raise ModelError(f"{path} was trained on audio features {metadata.feature_convention!r}; this version "
                             f"computes {AUDIO_FEATURES!r}: retrain it (sentimentogram train) or install the "
                             f"sentimentogram it came from")
        for role, wanted, trained in (("audio", audio_encoder, metadata.audio_encoder),
                                      ("text", text_encoder, metadata.text_encoder)):
            if wanted is not None and wanted != trained:
                raise ModelError(f"the emotion head was trained on {role} encoder {trained!r}, "
                                 f"not {wanted!r}: use that encoder or train a head for yours")
        try:
            model = FusedEmotionModel(FusionConfig.from_json(meta["config"]))
            model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        except (TypeError, KeyError, RuntimeError) as exc:
            raise ModelError(f"{path} does not fit this version's emotion model: retrain it or "
                             f"install the sentimentogram it came from") from exc
        return cls(model, metadata, tensors["audio_mean"].numpy(), tensors["audio_std"].numpy(), device)
