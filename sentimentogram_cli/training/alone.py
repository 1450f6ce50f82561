"""Encoder frames of clips as ``render`` computes them: each clip alone, one encoder pass at its
own length (``AudioEncoder.encode``), cached on disk one file per clip so a long run can resume.

Packed frames (``extract.clip_frames``) put a speaker's clips back to back; a user who renders one
short clip gets this instead. ``product_sample`` is the fixed set of clips the product-path figures
and the training mix use (one encoder pass per clip).
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .corpora import Clip
from .feature_cache import cache_key

__all__ = ["ALONE_CONVENTION", "SAMPLE_PER_CORPUS", "product_sample", "alone_frames", "encode_alone", "render_audio"]

ALONE_CONVENTION = "alone-ffmpeg-v2"  # v2: the last chunk at its own length (features.py)
SAMPLE_PER_CORPUS = 480  # clips per corpus drawn from speakers that are neither validation nor test
_BLOCK = 40


def product_sample(clips: list[Clip], validation: set[str], test: set[str] = frozenset(),
                   per_corpus: int = SAMPLE_PER_CORPUS, seed: int = 0) -> list[int]:
    """Every clip of the ``validation`` speakers, then ``per_corpus`` clips of each corpus from the
    speakers in neither set (balanced over labels, spread over speakers; seeded), then every clip
    of the ``test`` speakers: the order they are worth encoding in."""
    held = set(validation) | set(test)
    chosen = [i for i, c in enumerate(clips) if c.speaker in validation]
    rng = random.Random(seed)
    groups: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, c in enumerate(clips):
        if c.speaker not in held:
            groups[c.corpus][(c.label, c.speaker)].append(i)
    for corpus in sorted(groups):
        cells = groups[corpus]
        for key in sorted(cells):
            rng.shuffle(cells[key])
        by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for label, speaker in sorted(cells):
            by_label[label].append((label, speaker))
        # Label by label, round-robin over speakers, until each label has its share.
        share = {label: per_corpus // len(by_label) + (k < per_corpus % len(by_label))
                 for k, label in enumerate(sorted(by_label))}
        picked: list[int] = []
        for label in sorted(by_label):
            taken, depth = [], 0
            while len(taken) < share[label] and any(len(cells[key]) > depth for key in by_label[label]):
                for key in by_label[label]:
                    if depth < len(cells[key]) and len(taken) < share[label]:
                        taken.append(cells[key][depth])
                depth += 1
            picked += taken
        chosen.extend(sorted(picked))
    chosen.extend(i for i, c in enumerate(clips) if c.speaker in test and c.speaker not in validation)
    return chosen


def render_audio(path: Path) -> np.ndarray:
    """A clip decoded as ``render`` decodes it (ffmpeg, 16 kHz mono float32). The packed training
    features read 16 kHz Opus through libsndfile instead, whose samples differ slightly."""
    from ..media import decode_audio

    return decode_audio(path)


def encode_alone(audio: np.ndarray, encoder) -> np.ndarray:
    """A recording's frames exactly as the render path encodes them (float16)."""
    from ..constants import CHUNK_SAMPLES
    from ..emotion.recognise import encode_recording

    chunks = [audio[i: i + CHUNK_SAMPLES] for i in range(0, max(len(audio), 1), CHUNK_SAMPLES)]
    return encode_recording(chunks, len(audio), encoder)


def alone_frames(clips: list[Clip], indices: list[int], encoder, cache_dir: Path,
                 progress: Callable[[int, int], None] | None = None) -> dict[int, np.ndarray]:
    """Clip index -> its frames encoded alone, for ``indices``: one cached file per clip, so any
    subset or order of clips reuses what an earlier run encoded."""
    folder = Path(cache_dir) / "alone"
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[int, np.ndarray] = {}
    for k, i in enumerate(indices):
        path = folder / f"{cache_key(encoder.identity, ALONE_CONVENTION, encoder.layers, str(Path(clips[i].path).resolve()))}.npy"
        if not path.is_file():
            frames = encode_alone(render_audio(clips[i].path), encoder)
            tmp = path.with_name(path.name + ".tmp")
            with tmp.open("wb") as f:
                np.save(f, frames)
            os.replace(tmp, path)
        out[i] = np.load(path)
        if progress and (k + 1 == len(indices) or (k + 1) % _BLOCK == 0):
            progress(k + 1, len(indices))
    return out
