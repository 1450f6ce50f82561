"""The views of the training clips that `render` will see, beside the packed ones: some clips
encoded alone (one short clip in its own zero-padded chunk: ``training.alone``) and some clips'
augmented audio (``training.augment``), chosen balanced over corpora, labels and speakers."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

from .alone import SAMPLE_PER_CORPUS, alone_frames, product_sample
from .augment import augmented_frames
from .corpora import clips_by_speaker
from .data import TrainingData
from .train import TrainSettings

__all__ = ["ALONE_PER_CORPUS", "AUGMENT_PER_CORPUS", "prepare_mix", "voice_pool"]

ALONE_PER_CORPUS = SAMPLE_PER_CORPUS  # the clips training.alone.product_sample draws (its cached set)
AUGMENT_PER_CORPUS = 400


def voice_pool(clips, indices: Sequence[int], n: int = 200, seed: int = 0) -> list[Path]:
    """Clips for the "second voice" condition: a seeded sample across speakers."""
    by_speaker = clips_by_speaker(clips, indices)
    rng = random.Random(seed)
    pool = []
    for speaker in sorted(by_speaker):
        pool += rng.sample(by_speaker[speaker], min(2, len(by_speaker[speaker])))
    rng.shuffle(pool)
    return [clips[i].path for i in sorted(pool[:n])]


def prepare_mix(data: TrainingData, train: Sequence[int], settings: TrainSettings, encoder, cache_dir: Path,
                held: set[str] = frozenset(), progress: Callable[[str, int, int], None] | None = None) -> None:
    """Fill ``data.alone`` and ``data.augmented`` for the training clips the settings ask for."""
    train_set = set(train)
    clips = data.clips

    def report(stage):
        return (lambda d, n: progress(stage, d, n)) if progress else None

    if settings.alone_repeat:
        chosen = [i for i in product_sample(clips, set(), set(held), ALONE_PER_CORPUS) if i in train_set]
        data.alone = alone_frames(clips, chosen, encoder, cache_dir, report("clips encoded alone"))
    if settings.augment_rate:
        chosen = [i for i in product_sample(clips, set(), set(held), AUGMENT_PER_CORPUS) if i in train_set]
        voices = voice_pool(clips, [i for i in train if clips[i].speaker not in held])
        data.augmented = augmented_frames(clips, chosen, encoder, cache_dir, voices, progress=report("augmented clips"))
