"""Encoder frames of clips as ``render`` computes them: each clip alone, zero-padded to its own
30 s chunk (one encoder pass per clip), cached on disk in blocks so a long run can resume.

Packed frames (``extract.clip_frames``) put a speaker's clips back to back; a user who renders one
short clip gets this instead. ``product_sample`` is the fixed set of clips the product-path figures
and the training mix use (encoding every clip alone costs one pass per clip: ~5 h on 2 cores).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .corpora import Clip, load_clip_audio
from .feature_cache import cache_key, cached

__all__ = ["ALONE_CONVENTION", "SAMPLE_PER_CORPUS", "product_sample", "alone_frames", "encode_alone"]

ALONE_CONVENTION = "alone-padded-v1"
SAMPLE_PER_CORPUS = 200  # clips per corpus drawn from speakers that are neither validation nor test
_BLOCK = 40


def product_sample(clips: list[Clip], held: set[str], per_corpus: int = SAMPLE_PER_CORPUS,
                   seed: int = 0) -> list[int]:
    """Every clip of the ``held`` speakers, plus ``per_corpus`` clips of each corpus from the
    other speakers, balanced over labels and spread over speakers (seeded, in a fixed order)."""
    chosen = [i for i, c in enumerate(clips) if c.speaker in held]
    rng = random.Random(seed)
    groups: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, c in enumerate(clips):
        if c.speaker not in held:
            groups[c.corpus][(c.label, c.speaker)].append(i)
    for corpus in sorted(groups):
        cells = groups[corpus]
        for key in sorted(cells):
            rng.shuffle(cells[key])
        # Round-robin over labels, and within a label over speakers, until the quota is met.
        by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for label, speaker in sorted(cells):
            by_label[label].append((label, speaker))
        picked: list[int] = []
        depth = 0
        while len(picked) < per_corpus and any(len(v) > depth for v in cells.values()):
            for label in sorted(by_label):
                for key in by_label[label]:
                    if depth < len(cells[key]):
                        picked.append(cells[key][depth])
            depth += 1
        # Trim evenly over labels if the last round overshot.
        if len(picked) > per_corpus:
            per_label: dict[str, list[int]] = defaultdict(list)
            for i in picked:
                per_label[clips[i].label].append(i)
            picked = []
            k = 0
            while len(picked) < per_corpus:
                for label in sorted(per_label):
                    if k < len(per_label[label]) and len(picked) < per_corpus:
                        picked.append(per_label[label][k])
                k += 1
        chosen.extend(sorted(picked))
    return chosen


def encode_alone(audio: np.ndarray, encoder) -> np.ndarray:
    """A recording's frames as the render path encodes them (``emotion.recognise``), float16."""
    from ..constants import CHUNK_SAMPLES

    step = encoder.batch_size * CHUNK_SAMPLES
    pieces = [encoder.encode(audio[s: s + step]) for s in range(0, max(len(audio), 1), step)]
    return np.concatenate(pieces).astype(np.float16)


def alone_frames(clips: list[Clip], indices: list[int], encoder, cache_dir: Path,
                 progress: Callable[[int, int], None] | None = None) -> dict[int, np.ndarray]:
    """Clip index -> its frames encoded alone, for ``indices`` (cached per block of clips)."""
    out: dict[int, np.ndarray] = {}
    for b in range(0, len(indices), _BLOCK):
        block = indices[b: b + _BLOCK]
        key = cache_key(encoder.identity, ALONE_CONVENTION, encoder.layers, [str(clips[i].path) for i in block])
        arrays = cached(Path(cache_dir), "alone", key,
                        lambda: [encode_alone(load_clip_audio(clips[i].path), encoder) for i in block])
        for j, i in enumerate(block):
            out[i] = arrays[j]
        if progress:
            progress(min(b + _BLOCK, len(indices)), len(indices))
    return out

