"""Encoder features for the emotion head: Whisper-encoder frames and MiniLM token embeddings.

One convention, shared by training and rendering: audio is cut into 30 s chunks (the last one
zero-padded), each chunk's log-mel is computed on its own, the encoder runs once per chunk, and
frames are average-pooled in pairs (25 frames/s). Windows then slice their own frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .assets import BUNDLED_ASR_MODEL, TEXT_ENCODER_ID, load_whisper, minilm_dir, whisper_model_identity
from .constants import CHUNK_SAMPLES, FRAME_STRIDE, HEAD_FRAMES_PER_SECOND, MAX_TEXT_TOKENS, SAMPLE_RATE

__all__ = ["AudioEncoder", "TextEncoder", "frames_for_span"]

SAMPLES_PER_HEAD_FRAME = SAMPLE_RATE // HEAD_FRAMES_PER_SECOND


def frames_for_span(frames: np.ndarray, start: float, end: float) -> np.ndarray:
    """The head frames (25/s) that fall within [start, end) seconds; at least one frame."""
    first = max(0, int(round(start * HEAD_FRAMES_PER_SECOND)))
    last = max(first + 1, int(round(end * HEAD_FRAMES_PER_SECOND)))
    return frames[first:last]


class AudioEncoder:
    """The encoder of the Whisper model that also transcribes: no second audio model to load."""

    def __init__(self, model_name: str = BUNDLED_ASR_MODEL, device: str = "cpu", batch_size: int | None = None):
        self.whisper = load_whisper(model_name, device)
        self.identity = whisper_model_identity(model_name)
        self.device = device
        # One 30 s chunk per call on CPU: 15% faster per chunk than 4 and 126 MiB less peak memory
        # (base, int8, 2 cores; the frames are bit-identical). GPUs gain from batching.
        self.batch_size = batch_size or (4 if device == "cuda" else 1)
        self.dim = self._probe_dim()

    def _probe_dim(self) -> int:
        silence = np.zeros((1, self.whisper.model.n_mels, 200), dtype=np.float32)
        return int(np.asarray(self._encode(silence)).shape[-1])

    def _encode(self, mels: np.ndarray) -> np.ndarray:
        import ctranslate2

        out = self.whisper.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mels)), to_cpu=True)
        if self.device == "cuda":
            # float16 storage on the GPU: move through torch, which reads CUDA array interfaces.
            return torch.as_tensor(out).float().cpu().numpy()
        return np.asarray(out)

    def _chunk_mel(self, chunk: np.ndarray) -> np.ndarray:
        padded = np.zeros(CHUNK_SAMPLES, dtype=np.float32)
        padded[: len(chunk)] = chunk
        n_frames = CHUNK_SAMPLES // self.whisper.feature_extractor.hop_length
        return self.whisper.feature_extractor(padded, padding=0)[:, :n_frames]

    def encode(self, audio: np.ndarray, progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Frames for a whole recording: (ceil(seconds * 25), dim) float32."""
        n_head_frames = int(np.ceil(len(audio) / SAMPLES_PER_HEAD_FRAME))
        starts = list(range(0, max(len(audio), 1), CHUNK_SAMPLES))
        pieces = []
        for b in range(0, len(starts), self.batch_size):
            batch = starts[b : b + self.batch_size]
            mels = np.stack([self._chunk_mel(audio[s : s + CHUNK_SAMPLES]) for s in batch])
            encoded = self._encode(mels)  # (batch, 1500, dim)
            pooled = encoded.reshape(len(batch), -1, FRAME_STRIDE, encoded.shape[-1]).mean(axis=2)
            pieces.extend(pooled)
            if progress:
                progress(min(1.0, (b + len(batch)) / len(starts)))
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
            frames = self.encode(np.concatenate(group))
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
    """all-MiniLM-L6-v2 token embeddings (384-d) through transformers, from the offline package."""

    identity = TEXT_ENCODER_ID

    def __init__(self, device: str = "cpu", batch_size: int = 64):
        from transformers import AutoModel, AutoTokenizer

        folder = minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.dim = self.model.config.hidden_size

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One (n_tokens, 384) float32 array per text, [CLS] and [SEP] included, padding dropped."""
        out: list[np.ndarray | None] = [None] * len(texts)
        # Batches of similar length waste little compute on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=MAX_TEXT_TOKENS, return_tensors="pt")
            enc = {k: v.to(self.device) for k, v in enc.items()}
            hidden = self.model(**enc).last_hidden_state.float().cpu().numpy()
            lengths = enc["attention_mask"].sum(dim=1).tolist()
            for row, (i, n) in enumerate(zip(idx, lengths)):
                out[i] = hidden[row, : int(n)]
        return out
