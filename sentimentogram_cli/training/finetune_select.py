"""How long to fine-tune on a user's folder, chosen on held-out clips, then one refit on all of it.

A real folder is uneven (one speaker with 48 clips, another with 1). Holding out a share of the
*speakers* can leave a handful of clips to choose epochs and a temperature on. So:
- validation folds hold about ``validation_share`` of the *clips* each, whole speakers where the
  folder has several (greedy by clip count: the biggest speaker first, into the emptiest fold),
  else clips stratified by label;
- a small folder (< ``CROSS_VALIDATE_BELOW`` labelled clips) is cross-validated over every fold,
  a larger one uses the first fold only; the folds train in step, epoch by epoch, and the number
  of epochs is the one with the best UA of the held-out predictions *pooled* over the folds
  (0 = the head as it is, relabelled), stopping once ``patience`` epochs bring nothing better.
  Pooled, not a mean of per-fold UAs: an uneven folder makes folds of 9, 6, 4 and 1 clips, and
  the 1-clip fold's UA (0 or 1) would weigh as much as the 9-clip one's;
- at least one epoch is trained, even when the starting head scores best on the folds: twenty
  pooled clips cannot tell the two apart, and on uneven folders of corpora the head never saw
  (``benchmarks/uneven_finetune.py``, seed 0) the folds preferred the starting head where
  fine-tuning gained 21 points on the other speakers (RAVDESS), and lost 4 (nEMO);
- the head is then fine-tuned once on every labelled clip for that many epochs;
- with ``pseudo_labels`` and unlabelled clips (a folder the user labelled only part of), that head
  labels the unlabelled clips, the surest share of each label joins the labelled clips, and the
  starting head is refitted on both for the same epochs (class-balanced self-training: the other
  speakers of the folder teach the head their voices, which a few labelled speakers cannot);
- the temperature stays the starting head's: a few dozen clips cannot calibrate it (the old
  recipe fitted 20.0, its bound, on six).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..emotion.head import EmotionHead
from ..errors import InputError
from .calibration import softmax
from .data import TrainingData
from .finetune import (FinetuneSettings, clip_views, finetune_epochs, finetune_head, predict_logits, predicted_labels,
                       text_of)
from .metrics import classification_metrics

__all__ = ["CROSS_VALIDATE_BELOW", "MIN_CLIPS", "clip_folds", "Selection", "pooled_ua", "pseudo_labelled",
           "finetune_selected"]

CROSS_VALIDATE_BELOW = 400
MIN_CLIPS = 4


def clip_folds(clips: Sequence, indices: Sequence[int], share: float, seed: int = 0) -> tuple[list[list[int]], str]:
    """Validation folds over ``indices`` (each about ``share`` of the clips) and how they were cut:
    "speakers" (no speaker in two folds) or "clips" (one speaker: clips stratified by label)."""
    if len(indices) < MIN_CLIPS:
        raise InputError(f"fine-tuning needs at least {MIN_CLIPS} labelled clips (it holds some out to choose "
                         f"how long to train), not {len(indices)}")
    n_folds = max(2, min(10, round(1 / max(share, 0.05))))
    rng = random.Random(seed)
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        by_speaker[clips[i].speaker or ""].append(i)
    if len(by_speaker) >= 2:
        n_folds = min(n_folds, len(by_speaker))
        speakers = sorted(by_speaker)
        rng.shuffle(speakers)
        speakers.sort(key=lambda s: -len(by_speaker[s]))  # stable: ties keep the seeded order
        folds: list[list[int]] = [[] for _ in range(n_folds)]
        for s in speakers:
            min(folds, key=len).extend(by_speaker[s])
        return [sorted(f) for f in folds], "speakers"
    by_label: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        by_label[clips[i].label].append(i)
    folds = [[] for _ in range(n_folds)]
    k = 0
    for label in sorted(by_label):
        members = by_label[label][:]
        rng.shuffle(members)
        for i in members:
            folds[k % n_folds].append(i)
            k += 1
    return [sorted(f) for f in folds], "clips"


@dataclass
class Selection:
    head: EmotionHead
    epochs: int  # chosen (and trained on every labelled clip)
    folds: list[list[int]]  # the validation folds used
    split: str  # "speakers" or "clips"
    curve: list[float]  # UA of the held-out predictions pooled over the folds after 0, 1, ... epochs
    fold_curves: list[list[float]]  # each fold's own validation UA after 0, 1, ... epochs
    pseudo: dict[int, str]  # unlabelled clip -> the label it was refitted with (self-training)


def pooled_ua(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """UA (mean recall over the true labels) of predictions pooled from several folds, whose
    heads may know different labels (a label no fold's head has is missed)."""
    names = sorted(set(truth) | set(predicted))
    y_true = [names.index(label) for label in truth]
    return float(classification_metrics(y_true, [names.index(label) for label in predicted], sorted(set(y_true)))["ua"])


def pseudo_labelled(head: EmotionHead, data: TrainingData, unlabelled: Sequence[int], allowed: Sequence[str],
                    share: float, views, use_text: bool) -> dict[int, str]:
    """Clip -> label for the unlabelled clips ``head`` is surest of: of the clips whose most likely
    label (over all the head's) is each of ``allowed``, the ``share`` with the highest probability,
    at least one a label. Per label, not overall, so a label the head favours on these voices cannot
    crowd out the rest; a clip it reads as a label the user has not labelled (their other speakers
    may say "happy" where the labelled ones never did) is left out, not forced into one they have."""
    if not unlabelled or share <= 0:
        return {}
    text = [text_of(data, i) for i in unlabelled] if use_text else None
    logits = predict_logits(head.model, [views[i] for i in unlabelled], text)
    confidence = softmax(logits).max(axis=1)
    predicted = predicted_labels(logits, head.labels, head.labels)
    chosen: dict[int, str] = {}
    for label in sorted(set(predicted) & set(allowed)):
        members = [k for k, p in enumerate(predicted) if p == label]
        members.sort(key=lambda k: -confidence[k])
        for k in members[: max(1, round(share * len(members)))]:
            chosen[unlabelled[k]] = label
    return chosen


def finetune_selected(head: EmotionHead, data: TrainingData, labelled: Sequence[int],
                      settings: FinetuneSettings = FinetuneSettings(), *, use_text: bool = True,
                      unlabelled: Sequence[int] = (), source=None,
                      progress: Callable[[str, int, int], None] | None = None) -> Selection:
    """Choose the epochs on validation folds, refit on all of ``labelled``, keep the head's temperature."""
    folds, split = clip_folds(data.clips, labelled, settings.validation_share, settings.seed)
    if len(labelled) >= CROSS_VALIDATE_BELOW:
        folds = folds[:1]
    needed = list(labelled) + list(unlabelled)
    views = dict(zip(needed, clip_views(head, data, needed)))  # normalised once for every fold
    runs = [finetune_epochs(head, data, [i for i in labelled if i not in set(fold)], fold, settings,
                            use_text=use_text, unlabelled=unlabelled, source=source, views=views) for fold in folds]
    truth = [data.clips[i].label for fold in folds for i in fold]
    curve: list[float] = []
    fold_curves: list[list[float]] = [[] for _ in folds]
    best = stale = 0
    for epoch in range(settings.max_epochs + 1):
        states = [next(run) for run in runs]
        for fold_curve, state in zip(fold_curves, states):
            fold_curve.append(state.validation_ua)
        curve.append(pooled_ua(truth, [label for state in states for label in state.predicted]))
        if progress:
            progress(f"{len(folds)} fold{'s' if len(folds) > 1 else ''}", epoch, settings.max_epochs)
        if curve[-1] > curve[best]:  # the first best: fewer epochs on a tie
            best, stale = epoch, 0
        elif epoch:
            stale += 1
            if stale >= settings.patience:
                break
    for run in runs:
        run.close()
    epochs = 1 + int(np.argmax(curve[1:])) if len(curve) > 1 else 0  # at least one: see the module's note
    def refit(clips_data: TrainingData, train: list[int], stage: str):
        """The starting head fine-tuned on ``train`` for the chosen epochs, no validation."""
        return finetune_head(head, clips_data, train, [], settings.variant(epochs_without_validation=epochs),
                             use_text=use_text, unlabelled=unlabelled, source=source, views=views,
                             progress=(lambda e, n: progress(stage, e, n)) if progress else None)

    final = refit(data, list(labelled), "all clips")
    user_labels = sorted({data.clips[i].label for i in labelled})
    pseudo = pseudo_labelled(final.head, data, unlabelled, user_labels, settings.pseudo_labels, views, use_text)
    if pseudo:
        relabelled = replace(data, clips=[replace(c, label=pseudo.get(i, c.label)) for i, c in enumerate(data.clips)])
        final = refit(relabelled, list(labelled) + sorted(pseudo), "with pseudo-labels")
    final.head.metadata.temperature = head.metadata.temperature
    final.head.metadata.extra["finetune"].update({
        "epochs_chosen": epochs, "validation": split, "folds": len(folds),
        "validation_ua_by_epoch": [round(x, 4) for x in curve], "validation_pooled": True,
        "temperature": "the starting head's", "pseudo_labelled_clips": len(pseudo),
    })
    return Selection(final.head, epochs, folds, split, curve, fold_curves, pseudo)
