"""A disk cache of ragged feature arrays (one per clip or sentence), so reruns skip the encoders."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["RaggedArrays", "cache_key", "cached"]


class RaggedArrays:
    """Variable-length float16 arrays stored as one concatenated array plus offsets."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray):
        self.data = data
        self.offsets = offsets

    @classmethod
    def from_list(cls, arrays: Sequence[np.ndarray]) -> "RaggedArrays":
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return cls(np.concatenate(arrays).astype(np.float16), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.data[self.offsets[i] : self.offsets[i + 1]]

    def save(self, stem: Path) -> None:
        for suffix, array in ((".data.npy", self.data), (".offsets.npy", self.offsets)):
            tmp = stem.with_name(stem.name + suffix + ".tmp")
            with tmp.open("wb") as f:
                np.save(f, array)
            os.replace(tmp, stem.with_name(stem.name + suffix))

    @classmethod
    def load(cls, stem: Path) -> "RaggedArrays":
        return cls(
            np.load(stem.with_name(stem.name + ".data.npy"), mmap_mode="r"),
            np.load(stem.with_name(stem.name + ".offsets.npy")),
        )

    @staticmethod
    def exists(stem: Path) -> bool:
        return stem.with_name(stem.name + ".offsets.npy").exists()


def cache_key(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:16]


def cached(cache_dir: Path, name: str, key: str, compute: Callable[[], Sequence[np.ndarray]]) -> RaggedArrays:
    """Load ``name`` from the cache when its key matches, else compute, store and return it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = cache_dir / f"{name}-{key}"
    if not RaggedArrays.exists(stem):
        RaggedArrays.from_list(compute()).save(stem)
    return RaggedArrays.load(stem)
