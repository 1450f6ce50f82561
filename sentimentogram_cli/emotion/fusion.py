"""The fused text+audio emotion model and its checkpoint format.

Text tokens attend to audio frames and back (over sequences, unlike the paper, whose pooled
vectors made its attention a no-op), with a VAD-distance bias; attentive pooling; gates over the
two modalities that sum to 1, a missing modality masked to gate 0; an interaction term; heads for
emotion classes, valence/arousal/dominance and the modality-invariant contrastive projection.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FusionConfig", "FusionOutput", "FusedEmotionModel", "micl_loss", "fusion_loss"]


@dataclass
class FusionConfig:
    labels: tuple[str, ...]
    text_dim: int = 384
    audio_dim: int = 512
    dim: int = 128
    heads: int = 4
    dropout: float = 0.2
    cross_attention: bool = True  # False: pooled modalities only (the concatenation baseline)
    vad_guided: bool = True  # False: plain cross-attention
    gated: bool = True  # False: concatenate the pooled vectors instead of gating them
    micl_dim: int = 64
    frame_pool: int = 2  # average this many input frames into one (25/s in → 12.5/s)
    # Audio frames are ``audio_layers`` encoder layers side by side (audio_dim in all). "concat"
    # projects them together; "weighted" mixes them first with learned softmax weights (SUPERB).
    audio_layers: int = 1
    layer_mix: str = "concat"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "FusionConfig":
        data = json.loads(text)
        data["labels"] = tuple(data["labels"])
        return cls(**data)


@dataclass
class FusionOutput:
    logits: torch.Tensor  # (B, classes)
    vad: torch.Tensor  # (B, 3) in 0..1
    gates: torch.Tensor  # (B, 2): text, audio; rows sum to 1
    text_embedding: torch.Tensor  # (B, micl_dim), L2-normalised
    audio_embedding: torch.Tensor


class VadGuidedCrossAttention(nn.Module):
    """softmax(QKᵀ/√d + λ·M) V with M(i,j) = −‖v_i − v_j‖₂, v = learned 3-d VAD projections."""

    def __init__(self, dim: int, heads: int, dropout: float, vad_guided: bool):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.vad_guided = vad_guided
        if vad_guided:
            self.vad_query = nn.Linear(dim, 3)
            self.vad_key = nn.Linear(dim, 3)
            self.raw_lambda = nn.Parameter(torch.tensor(0.0))  # λ = softplus(raw) ≥ 0

    def forward(self, query: torch.Tensor, key: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        b, n, d = query.shape
        m = key.shape[1]
        q = self.q(query).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k, v = self.kv(key).view(b, m, 2, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # (b, h, n, m)
        if self.vad_guided:
            distance = torch.cdist(self.vad_query(query), self.vad_key(key))  # (b, n, m)
            scores = scores - F.softplus(self.raw_lambda) * distance.unsqueeze(1)
        # A row with no valid key (missing modality) attends to nothing: its output is zero.
        scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        mixed = (self.dropout(weights) @ v).transpose(1, 2).reshape(b, n, d)
        return self.out(mixed)


class AttentivePooling(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(x).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        return (weights.unsqueeze(-1) * x).sum(dim=1)


def _pool_frames(audio: torch.Tensor, mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Average groups of k frames, counting only real frames; a group with one real frame is real."""
    b, n, d = audio.shape
    pad = (-n) % k
    audio = F.pad(audio * mask.unsqueeze(-1), (0, 0, 0, pad)).view(b, -1, k, d)
    counts = F.pad(mask.float(), (0, pad)).view(b, -1, k).sum(dim=-1)
    return audio.sum(dim=2) / counts.clamp(min=1).unsqueeze(-1), counts > 0


class FusedEmotionModel(nn.Module):
    def __init__(self, config: FusionConfig):
        super().__init__()
        self.config = config
        d = config.dim
        self.text_in = nn.Sequential(nn.LayerNorm(config.text_dim), nn.Linear(config.text_dim, d), nn.GELU())
        mixed_dim = config.audio_dim
        if config.layer_mix == "weighted" and config.audio_layers > 1:
            self.layer_logits = nn.Parameter(torch.zeros(config.audio_layers))
            mixed_dim = config.audio_dim // config.audio_layers
        elif config.layer_mix not in ("concat", "weighted"):
            raise ValueError(f"unknown layer_mix {config.layer_mix!r}")
        self.audio_in = nn.Sequential(nn.LayerNorm(mixed_dim), nn.Linear(mixed_dim, d))
        # A depthwise convolution gives each frame its neighbours' context (≈ 200 ms at 25 frames/s)
        # at a fraction of a full convolution's cost.
        self.audio_context = nn.Conv1d(d, d, kernel_size=5, padding=2, groups=d)
        self.dropout = nn.Dropout(config.dropout)
        if config.cross_attention:
            self.text_to_audio = VadGuidedCrossAttention(d, config.heads, config.dropout, config.vad_guided)
            self.audio_to_text = VadGuidedCrossAttention(d, config.heads, config.dropout, config.vad_guided)
            self.text_norm = nn.LayerNorm(d)
            self.audio_out_norm = nn.LayerNorm(d)
        self.text_pool = AttentivePooling(d)
        self.audio_pool = AttentivePooling(d)
        fused_dim = d if config.gated else 2 * d
        if config.gated:
            self.gate = nn.Sequential(nn.Linear(3 * d, d), nn.GELU(), nn.Linear(d, 2))
            self.interaction = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.classifier = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(fused_dim, d), nn.GELU(),
                                        nn.Dropout(config.dropout), nn.Linear(d, len(config.labels)))
        self.vad_head = nn.Sequential(nn.Linear(fused_dim, d // 2), nn.GELU(), nn.Linear(d // 2, 3))
        self.text_micl = nn.Linear(d, config.micl_dim)
        self.audio_micl = nn.Linear(d, config.micl_dim)

    def layer_weights(self) -> torch.Tensor | None:
        """The learned softmax weights over encoder layers ("weighted" mix), else None."""
        logits = getattr(self, "layer_logits", None)
        return None if logits is None else torch.softmax(logits.detach(), dim=0)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor,
                audio: torch.Tensor, audio_mask: torch.Tensor) -> FusionOutput:
        """text (B, T, 384) with mask (B, T); audio (B, F, audio_dim) with mask (B, F); True = real.

        A sample whose mask is all False lacks that modality: its gate is 0.
        """
        has_text = text_mask.any(dim=1)
        has_audio = audio_mask.any(dim=1)
        t = self.dropout(self.text_in(text))
        if self.config.frame_pool > 1:  # fewer, averaged frames: cheaper, and 80 ms is fine for emotion
            audio, audio_mask = _pool_frames(audio, audio_mask, self.config.frame_pool)
        if hasattr(self, "layer_logits"):
            b, n, _ = audio.shape
            w = torch.softmax(self.layer_logits, dim=0)
            audio = (audio.view(b, n, len(w), -1) * w.view(1, 1, -1, 1)).sum(dim=2)
        a = self.audio_in(audio) * audio_mask.unsqueeze(-1)  # padding stays zero for the convolution
        a = self.dropout(F.gelu(a + self.audio_context(a.transpose(1, 2)).transpose(1, 2)))
        if self.config.cross_attention:
            t, a = (self.text_norm(t + self.text_to_audio(t, a, audio_mask)),
                    self.audio_out_norm(a + self.audio_to_text(a, t, text_mask)))
        h_t = self.text_pool(t, text_mask)
        h_a = self.audio_pool(a, audio_mask)

        present = torch.stack([has_text, has_audio], dim=1)
        if self.config.gated:
            gate_logits = self.gate(torch.cat([h_t, h_a, h_t * h_a], dim=-1))
            gates = torch.softmax(gate_logits.masked_fill(~present, float("-inf")), dim=-1).nan_to_num(0.0)
            both = (has_text & has_audio).unsqueeze(-1).float()
            fused = gates[:, :1] * h_t + gates[:, 1:] * h_a + both * self.interaction(h_t * h_a)
        else:
            gates = present.float() / present.float().sum(dim=1, keepdim=True).clamp(min=1)
            fused = torch.cat([h_t, h_a], dim=-1)
        return FusionOutput(
            logits=self.classifier(fused),
            vad=torch.sigmoid(self.vad_head(fused)),
            gates=gates,
            text_embedding=F.normalize(self.text_micl(h_t), dim=-1),
            audio_embedding=F.normalize(self.audio_micl(h_a), dim=-1),
        )


def micl_loss(out: FusionOutput, paired: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric InfoNCE between the text and audio embeddings of the samples that have both."""
    if paired.sum() < 2:
        return out.logits.new_zeros(())
    t, a = out.text_embedding[paired], out.audio_embedding[paired]
    logits = t @ a.T / temperature
    target = torch.arange(len(t), device=t.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def fusion_loss(out: FusionOutput, labels: torch.Tensor, label_mask: torch.Tensor, vad: torch.Tensor,
                vad_mask: torch.Tensor, allowed: torch.Tensor, paired: torch.Tensor, *,
                label_smoothing: float = 0.1, lambda_vad: float = 0.5, lambda_micl: float = 0.1) -> torch.Tensor:
    """CE (label smoothing) + λ_vad·MSE + λ_micl·MICL.

    ``allowed`` (B, classes) restricts each sample's softmax to the labels its corpus has, so a
    corpus without "disgust" does not teach that disgust is never heard.
    """
    loss = out.logits.new_zeros(())
    if label_mask.any():
        ok = allowed[label_mask].float()
        log_p = torch.log_softmax(out.logits[label_mask].masked_fill(ok == 0, -1e4), dim=-1)
        # Label smoothing spreads its mass over the allowed labels only.
        target = (1 - label_smoothing) * F.one_hot(labels[label_mask], ok.shape[1]).float()
        target = target + label_smoothing * ok / ok.sum(dim=1, keepdim=True)
        loss = loss - (target * log_p).sum(dim=1).mean()
    if vad_mask.any():
        loss = loss + lambda_vad * F.mse_loss(out.vad[vad_mask], vad[vad_mask])
    if lambda_micl:
        loss = loss + lambda_micl * micl_loss(out, paired)
    return loss
