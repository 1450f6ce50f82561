"""Encoder features for the emotion head: Whisper-encoder layer frames and MiniLM token embeddings.

One convention, shared by training and rendering (``AUDIO_FEATURES``, recorded in every head):
audio is cut into 30 s chunks, each chunk's log-mel is computed on its own, the Whisper encoder
runs once per chunk in torch up to the deepest layer the head uses (``whisper_layers``), the
chosen layers' hidden states are concatenated, and frames are average-pooled in pairs (25
frames/s). Windows then slice their own frames.

A recording's last, shorter chunk is encoded at its own length (the encoder's positions cut to
it), not zero-padded to 30 s: a 3 s clip costs a tenth of a padded pass, and its frames then
see no 27 s of padding the head never trained on (issues 24, 25). Packed training chunks
(``encode_clips``) keep the padding of the cache they were extracted with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..assets import (BUNDLED_ASR_MODEL, TEXT_ENCODER_ID, minilm_dir, whisper_model_buffer,
                      whisper_model_identity)
from ..constants import CHUNK_SAMPLES, FRAME_STRIDE, HEAD_FRAMES_PER_SECOND, MAX_TEXT_TOKENS, SAMPLE_RATE
from .minilm import MiniLM, MiniLMTokenizer
from .checkpoint import AUDIO_FEATURES, text_delta_for
from .text_delta import apply_text_delta
from .whisper_layers import WhisperLayerEncoder, read_ctranslate2_variables

__all__ = ["AUDIO_FEATURES", "DEFAULT_AUDIO_LAYERS", "AudioEncoder", "TextEncoder", "frames_for_span"]

# The layers the training cache holds; a head picks its own subset (checkpoint metadata).
DEFAULT_AUDIO_LAYERS = (1, 2, 3, 4)

SAMPLES_PER_HEAD_FRAME = SAMPLE_RATE // HEAD_FRAMES_PER_SECOND


def frames_for_span(frames: np.ndarray, start: float, end: float) -> np.ndarray:
    """The head frames (25/s) that fall within [start, end) seconds; at least one frame."""
    first = max(0, int(round(start * HEAD_FRAMES_PER_SECOND)))
    last = max(first + 1, int(round(end * HEAD_FRAMES_PER_SECOND)))
    return frames[first:last]


class AudioEncoder:
    """Hidden states of the Whisper encoder that also transcribes: no second audio model to load.

    ``layers`` are encoder layers (0 = after the convolutions, 6 = the last of base); frames are
    the concatenation of their hidden states, ``dim = 512 · len(layers)`` for base.
    """

    def __init__(self, model_name: str = BUNDLED_ASR_MODEL, device: str = "cpu",
                 layers: tuple[int, ...] = DEFAULT_AUDIO_LAYERS, batch_size: int | None = None):
        from faster_whisper.feature_extractor import FeatureExtractor

        variables = read_ctranslate2_variables(whisper_model_buffer(model_name))
        encoder = WhisperLayerEncoder(variables, tuple(layers))
        self.layers = encoder.layers
        # float16 on the GPU, as faster-whisper runs there; float32 on the CPU, where dynamic int8
        # (``quantised``) cut the layers' CPU by 56% on a 111 s talk but moved layer 4 by 41%
        # (relative error) and the validation product path by up to 1.5 points (benchmarks/int8_layers.py).
        self.dtype = torch.float16 if device == "cuda" else torch.float32
        self.model = encoder.to(device=device, dtype=self.dtype)
        self.feature_extractor = FeatureExtractor(feature_size=encoder.n_mels)
        self.identity = whisper_model_identity(model_name)
        self.device = device
        # One 30 s chunk per call on CPU (less peak memory, no gain from batching); GPUs batch.
        self.batch_size = batch_size or (8 if device == "cuda" else 1)
        self.dim = encoder.dim * len(self.layers)

    @torch.inference_mode()
    def _encode(self, mels: np.ndarray) -> np.ndarray:
        mel = torch.from_numpy(np.ascontiguousarray(mels)).to(self.device, self.dtype)
        return self.model(mel).float().cpu().numpy()

    def _chunk_mel(self, chunk: np.ndarray, samples: int = CHUNK_SAMPLES) -> np.ndarray:
        """The log-mel of ``chunk`` zero-padded to ``samples`` (a whole number of head frames)."""
        padded = np.zeros(samples, dtype=np.float32)
        padded[: len(chunk)] = chunk
        return self.feature_extractor(padded, padding=0)[:, : samples // self.feature_extractor.hop_length]

    def _pooled(self, mels: np.ndarray) -> np.ndarray:
        encoded = self._encode(mels)  # (batch, mel frames / 2, dim)
        return encoded.reshape(len(mels), -1, FRAME_STRIDE, encoded.shape[-1]).mean(axis=2)

    def encode(self, audio: np.ndarray, progress: Callable[[float], None] | None = None, *,
               pad_last: bool = False) -> np.ndarray:
        """Frames for a whole recording: (ceil(seconds * 25), dim) float32. Full 30 s chunks go
        through the encoder in batches; a shorter last chunk alone at its own length, or padded
        to 30 s with ``pad_last`` (the packed training features' convention)."""
        n_head_frames = int(np.ceil(len(audio) / SAMPLES_PER_HEAD_FRAME))
        starts = list(range(0, max(len(audio), 1), CHUNK_SAMPLES))
        short_tail = not pad_last and len(audio) - starts[-1] < CHUNK_SAMPLES
        full = starts[:-1] if short_tail else starts
        pieces = []
        for b in range(0, len(full), self.batch_size):
            batch = full[b : b + self.batch_size]
            pieces.extend(self._pooled(np.stack([self._chunk_mel(audio[s : s + CHUNK_SAMPLES]) for s in batch])))
            if progress:
                progress(min(1.0, (b + len(batch)) / len(starts)))
        if short_tail:
            tail = audio[starts[-1]:]
            samples = max(1, -(-len(tail) // SAMPLES_PER_HEAD_FRAME)) * SAMPLES_PER_HEAD_FRAME
            pieces.extend(self._pooled(self._chunk_mel(tail, samples)[None]))
            if progress:
                progress(1.0)
        return np.concatenate(pieces)[:n_head_frames].astype(np.float32)

    def encode_clips(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Frames for many short clips, packed back to back into 30 s chunks.

        Packing mirrors rendering (a window's frames see 30 s of surrounding speech) and costs one
        encoder pass per 30 s of audio instead of one per clip.
        """
        out: list[np.ndarray] = []
        group: list[np.ndarray] = []

        def flush():
            if not group:
                return
            frames = self.encode(np.concatenate(group), pad_last=True)
            offset = 0
            for clip in group:
                k = len(clip) // SAMPLES_PER_HEAD_FRAME
                out.append(frames[offset : offset + k])
                offset += k
            group.clear()

        for clip in clips:
            # Whole head frames only, so that clip boundaries fall on frame boundaries.
            n = -(-min(len(clip), CHUNK_SAMPLES) // SAMPLES_PER_HEAD_FRAME) * SAMPLES_PER_HEAD_FRAME
            clip = np.pad(clip[:n], (0, max(0, n - len(clip))))
            if sum(len(c) for c in group) + len(clip) > CHUNK_SAMPLES:
                flush()
            group.append(clip)
        flush()
        return out


class TextEncoder:
    """all-MiniLM-L6-v2 token embeddings (384-d) from the offline package, run by ``minilm`` (the
    same numbers as transformers' BertModel, without importing its model code: ~1.6 CPU s less a
    render), with the emotion fine-tuned top layers (``text_delta``) applied unless ``delta=None``."""

    identity = TEXT_ENCODER_ID

    def __init__(self, device: str = "cpu", batch_size: int = 64, delta: Path | None = None):
        folder = minilm_dir()
        self.tokenizer = MiniLMTokenizer(folder)
        model = MiniLM.from_folder(folder)
        if delta is not None:
            self.identity = f"{TEXT_ENCODER_ID}+{apply_text_delta(model, delta, TEXT_ENCODER_ID)}"
        self.model = model.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.dim = self.model.hidden_size

    check_identity = staticmethod(text_delta_for)  # the delta for a head's recorded text encoder

    @classmethod
    def for_head(cls, identity: str, device: str = "cpu") -> "TextEncoder":
        """The text encoder a head was trained on, by the identity its checkpoint records."""
        return cls(device, delta=cls.check_identity(identity))

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One (n_tokens, 384) float32 array per text, [CLS] and [SEP] included, padding dropped."""
        out: list[np.ndarray | None] = [None] * len(texts)
        # Batches of similar length waste little compute on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            enc = {k: v.to(self.device) for k, v in self.tokenizer([texts[i] for i in idx], MAX_TEXT_TOKENS).items()}
            hidden = self.model(**enc).float().cpu().numpy()
            lengths = enc["attention_mask"].sum(dim=1).tolist()
            for row, (i, n) in enumerate(zip(idx, lengths)):
                out[i] = hidden[row, : int(n)]
        return out
