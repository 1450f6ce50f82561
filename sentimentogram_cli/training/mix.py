"""The views of the training clips that `render` will see, beside the packed ones: some clips
encoded alone (one short clip in its own zero-padded chunk: ``training.alone``) and some clips'
augmented audio (``training.augment``), chosen balanced over corpora, labels and speakers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .alone import SAMPLE_PER_CORPUS, alone_frames, product_sample
from .augment import augmented_frames
from .data import TrainingData
from .train import TrainSettings

__all__ = ["MIX_PER_CORPUS", "prepare_mix"]

# The clips training.alone.product_sample draws (its cached set): each is shown encoded alone and,
# with the augmentation on, encoded alone after one of the waveform conditions.
MIX_PER_CORPUS = SAMPLE_PER_CORPUS


def prepare_mix(data: TrainingData, train: Sequence[int], settings: TrainSettings, encoder, cache_dir: Path,
                held: frozenset[str] | set[str] = frozenset(), progress: Callable[[str, int, int], None] | None = None) -> None:
    """Fill ``data.alone`` and ``data.augmented`` for the training clips the settings ask for."""
    train_set = set(train)
    clips = data.clips

    def report(stage):
        return (lambda d, n: progress(stage, d, n)) if progress else None

    chosen = [i for i in product_sample(clips, set(), set(held), MIX_PER_CORPUS) if i in train_set]
    if settings.alone_repeat:
        data.alone = alone_frames(clips, chosen, encoder, cache_dir, report("clips encoded alone"))
    if settings.augment_rate:
        data.augmented = augmented_frames(clips, chosen, encoder, cache_dir, frozenset(held),
                                          progress=report("augmented clips"))
