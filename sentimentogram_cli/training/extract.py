"""Encoder features for every clip and sentence, computed once and cached on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..emotion.features import AUDIO_FEATURES, AudioEncoder, TextEncoder
from .corpora import Clip, load_clip_audio, packing_order
from .feature_cache import RaggedArrays, cache_key, cached

__all__ = ["clip_frames", "text_tokens", "FEATURE_CONVENTION"]

# Bump when the way frames are computed or clips are packed changes: old caches are then ignored.
FEATURE_CONVENTION = f"{AUDIO_FEATURES}-packed-by-speaker"
_BLOCK = 256


def clip_frames(clips: list[Clip], encoder: AudioEncoder, cache_dir: Path,
                progress: Callable[[int, int], None] | None = None) -> RaggedArrays:
    """(frames, encoder.dim) per clip, in the order of ``clips``."""
    key = cache_key(encoder.identity, FEATURE_CONVENTION, encoder.layers, [str(Path(c.path).resolve()) for c in clips])

    def compute():
        order = packing_order(clips)
        frames: list[np.ndarray | None] = [None] * len(clips)
        for b in range(0, len(order), _BLOCK):
            block = order[b : b + _BLOCK]
            encoded = encoder.encode_clips([load_clip_audio(clips[i].path) for i in block])
            for i, f in zip(block, encoded):
                frames[i] = f.astype(np.float16)  # half the memory of a whole-corpus run
            if progress:
                progress(min(b + _BLOCK, len(order)), len(order))
        return frames

    return cached(cache_dir, "audio", key, compute)


def text_tokens(texts: list[str], encoder: TextEncoder, cache_dir: Path, name: str,
                progress: Callable[[int, int], None] | None = None) -> RaggedArrays:
    """(tokens, 384) per text, in order; each distinct text is encoded once (acted corpora say the
    same sentence in every emotion)."""
    key = cache_key(encoder.identity, texts)

    def compute():
        unique = list(dict.fromkeys(texts))
        embedded: list[np.ndarray] = []
        for b in range(0, len(unique), 1024):
            embedded.extend(encoder.embed(unique[b : b + 1024]))
            if progress:
                progress(min(b + 1024, len(unique)), len(unique))
        by_text = dict(zip(unique, embedded))
        return [by_text[t] for t in texts]

    return cached(cache_dir, f"text-{name}", key, compute)
