"""Adapting a trained emotion head to someone's own labelled clips: the recipe behind
``sentimentogram train --finetune``, and the one the leave-one-corpus-out comparison scores.

Why here: a user's speakers, language or microphone differ from the acted corpora the head was
trained on, and a hundred labelled clips of their own go a long way. The encoders stay frozen (the
user's clips are encoded once, cached); the head is copied, its output layer keeps every label it
knows and grows by the user's new ones (which start at zero), and it is trained on the user's
training speakers with early stopping on held-out speakers (``speaker_split``: validation is always
speaker-disjoint). A label of the head that the user's clips lack stays predictable: by default its
row keeps the starting weights and stays out of the loss (``absent_labels``), since a user who
labelled some speakers only has not said that the others never sound that way. The head kept is
half-way between the starting weights and the fine-tuned ones (``interpolation``): a few dozen
clips of a few speakers pull a head too far from what it knew. Optionally a CORAL
term pulls the pooled clip representation of the user's clips, labelled and unlabelled, toward the
moments the head had on its own training data (``coral.py``). Needs nothing from the training
corpora.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from ..constants import CATEGORY_VAD
from ..emotion.fusion import FusedEmotionModel, FusionConfig
from ..emotion.head import EmotionHead, HeadMetadata, pad_batch
from ..errors import InputError
from .calibration import fit_temperature
from .coral import PooledHook, SourceMoments, coral_loss, pooled_features, source_moments
from .data import AudioNormaliser, TrainingData
from .metrics import classification_metrics
from .samples import crop_and_mask, crop_frames

__all__ = ["FinetuneSettings", "FinetuneResult", "SourceMoments", "adapted_labels", "relabel_head",
           "speaker_split", "labelled_split", "clip_views", "text_of", "predict_logits", "predicted_labels", "label_ua",
           "pooled_features", "source_moments", "interpolated", "EpochState", "finetune_epochs", "finetune_head"]


@dataclass(frozen=True)
class FinetuneSettings:
    # "all": every weight of the head; "last": the classifier only (the layers after pooling).
    layers: str = "all"
    # Weight of the CORAL term (0: none); it needs SourceMoments of the starting head.
    alignment: float = 0.0
    max_epochs: int = 20
    patience: int = 4  # epochs without a better validation UA before stopping
    epochs_without_validation: int = 8  # a single speaker (leave-one-corpus-out only): no early stopping
    min_steps_per_epoch: int = 8  # a tiny set is drawn again until an epoch has this many batches
    learning_rate: float | None = None  # default: 5e-4 for "all", 2e-3 for "last"
    batch_size: int = 32
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    lambda_vad: float = 0.5
    feature_noise: float = 0.1
    time_mask_rate: float = 0.1
    own_transcript_rate: float = 0.5  # how often a clip with a transcript is shown with it
    validation_share: float = 0.2  # share of the labelled clips in each validation fold (finetune_select)
    # Output rows of the head's labels that no training clip has: "frozen" (the starting weights,
    # outside the loss's softmax) or "trained" (ordinary negatives of every clip).
    absent_labels: str = "frozen"
    # Share of the fine-tuned weights in the head scored and kept, the rest the starting head's
    # (weight-space ensembling, Wortsman et al. 2022, "WiSE-FT"); 1: the fine-tuned weights alone.
    # Half: on uneven folders (benchmarks/uneven_finetune.py) no left-out corpus then loses.
    interpolation: float = 0.5
    # Self-training on the folder's unlabelled clips (finetune_select.pseudo_labelled): after the
    # refit, this share of the clips the adapted head gives each label, the surest, join the
    # labelled ones with that label for one more refit from the starting head. 0: labelled only.
    pseudo_labels: float = 0.0
    seed: int = 0

    @property
    def lr(self) -> float:
        return self.learning_rate or (5e-4 if self.layers == "all" else 2e-3)

    def variant(self, **changes) -> "FinetuneSettings":
        return replace(self, **changes)


@dataclass
class FinetuneResult:
    head: EmotionHead
    epochs: int  # epochs trained
    best_epoch: int  # the epoch whose weights were kept (0: the starting weights)
    history: list[dict]  # per epoch: training loss, validation UA


def adapted_labels(head_labels: Sequence[str], user_labels: Sequence[str]) -> tuple[str, ...]:
    """The adapted head's labels: every label of the head, in its order (those the user did not
    label included: other speakers may still sound that way), then the user's new ones in
    alphabetical order."""
    return tuple(head_labels) + tuple(sorted(set(user_labels) - set(head_labels)))


def relabel_head(head: EmotionHead, labels: tuple[str, ...]) -> FusedEmotionModel:
    """A copy of the head's model whose output layer has one row per label of ``labels``: a label
    the head knows keeps its row, a new one starts at zero weight and the mean bias."""
    old = head.model
    config = FusionConfig.from_json(old.config.to_json())
    config.labels = labels
    model = FusedEmotionModel(config)
    state = {k: v for k, v in old.state_dict().items()}
    out_w, out_b = state["classifier.4.weight"], state["classifier.4.bias"]
    weight = torch.zeros(len(labels), out_w.shape[1])
    bias = torch.full((len(labels),), float(out_b.mean()))
    for row, label in enumerate(labels):
        if label in old.config.labels:
            weight[row] = out_w[old.config.labels.index(label)]
            bias[row] = out_b[old.config.labels.index(label)]
    state["classifier.4.weight"], state["classifier.4.bias"] = weight, bias
    model.load_state_dict(state)
    return model


def interpolated(start: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor], share: float,
                 new_rows: Sequence[int] = ()) -> dict[str, torch.Tensor]:
    """The weights ``start + share · (tuned − start)`` (integer buffers: the tuned ones). The output
    rows ``new_rows`` (labels new to the starting head: no weights of its own to return to) stay tuned."""
    if share == 1:
        return dict(tuned)
    mixed = {k: start[k] + share * (v - start[k]) if v.is_floating_point() else v for k, v in tuned.items()}
    for key in ("classifier.4.weight", "classifier.4.bias"):
        mixed[key][list(new_rows)] = tuned[key][list(new_rows)]
    return mixed


def _new_rows(head: EmotionHead, labels: Sequence[str]) -> list[int]:
    return [j for j, label in enumerate(labels) if label not in head.labels]


def speaker_split(speakers: Sequence[str], share: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices of (training, validation) items: ``share`` of the speakers (at least one, never all)
    hold out all their items, so no speaker is in both."""
    unique = sorted(set(speakers))
    if len(unique) < 2:
        raise InputError("fine-tuning holds out whole speakers for validation, so it needs clips of at least "
                         "two speakers (a `speaker` column with two or more values)")
    order = unique[:]
    random.Random(seed).shuffle(order)
    held = set(order[: min(len(unique) - 1, max(1, round(share * len(unique))))])
    train = [i for i, s in enumerate(speakers) if s not in held]
    validation = [i for i, s in enumerate(speakers) if s in held]
    return train, validation


def labelled_split(clips: Sequence, indices: Sequence[int], share: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """``speaker_split`` of the clips ``indices``, redrawn (up to 50 times) until the training
    side has every label, so that no label is known only from validation speakers."""
    speakers = [clips[i].speaker for i in indices]
    wanted = {clips[i].label for i in indices}
    for attempt in range(50):
        train, validation = speaker_split(speakers, share, seed + attempt)
        if {clips[indices[k]].label for k in train} == wanted:
            break
    return [indices[k] for k in train], [indices[k] for k in validation]


def clip_views(head: EmotionHead, data: TrainingData, indices: Sequence[int]) -> list[np.ndarray]:
    """Each clip's frames normalised as the head does at render time (float16, whole clip)."""
    norm = AudioNormaliser(data, head.audio_mean, head.audio_std, head.metadata.recording_mean_weight,
                           head.metadata.audio_layers, head.metadata.recording_mean_seconds)
    return [norm.clip(i).astype(np.float16) for i in indices]


def text_of(data: TrainingData, i: int) -> np.ndarray | None:
    """Clip ``i``'s transcript tokens, or None when it has none (or none were encoded)."""
    return np.asarray(data.clip_text[i], np.float32) if data.clips[i].text and len(data.clip_text) else None


@torch.inference_mode()
def predict_logits(model: FusedEmotionModel, audio: Sequence[np.ndarray], text: Sequence[np.ndarray | None] | None = None,
                   batch_size: int = 256) -> np.ndarray:
    """Logits of centre-cropped windows (eval mode; the model's mode is restored)."""
    was_training = model.training
    model.eval()
    out = []
    for b in range(0, len(audio), batch_size):
        a, a_mask = pad_batch([crop_frames(np.asarray(x, np.float32), None) for x in audio[b : b + batch_size]],
                              model.config.audio_dim)
        t, t_mask = pad_batch(list(text[b : b + batch_size]) if text is not None else [None] * len(a),
                              model.config.text_dim)
        out.append(model(t, t_mask, a, a_mask).logits.float().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, len(model.config.labels)), np.float32)


def predicted_labels(logits: np.ndarray, model_labels: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """Each row's label: the argmax over the model's labels that are in ``allowed``."""
    columns = [j for j, label in enumerate(model_labels) if label in set(allowed)]
    return [model_labels[columns[k]] for k in np.asarray(logits)[:, columns].argmax(axis=1)]


def label_ua(logits: np.ndarray, model_labels: Sequence[str], true_labels: Sequence[str],
             allowed: Sequence[str] | None = None) -> dict:
    """Metrics over the true labels' classes; argmax restricted to ``allowed`` (default: the true
    labels) among the model's. A label the model lacks is never predicted (recall 0)."""
    allowed = set(allowed if allowed is not None else true_labels)
    names = sorted(set(true_labels) | set(model_labels))
    if not allowed & set(model_labels):
        return {"ua": 0.0, "wa": 0.0, "macro_f1": 0.0, "n": len(true_labels)}
    y_pred = np.array([names.index(label) for label in predicted_labels(logits, model_labels, allowed)])
    y_true = np.array([names.index(label) for label in true_labels])
    classes = sorted({names.index(label) for label in true_labels})
    result = classification_metrics(y_true, y_pred, classes)
    result["labels"] = [names[c] for c in classes]
    return result


def _augment(frames: np.ndarray, settings: FinetuneSettings, rng: np.random.Generator) -> np.ndarray:
    return crop_and_mask(np.asarray(frames, np.float32), rng, settings.time_mask_rate)


def _audio_batch(views: list[np.ndarray], settings: FinetuneSettings, rng: np.random.Generator, dim: int):
    audio, mask = pad_batch([_augment(v, settings, rng) for v in views], dim)
    if settings.feature_noise:
        audio += settings.feature_noise * torch.randn_like(audio) * mask.unsqueeze(-1)
    return audio, mask


@dataclass
class EpochState:
    """The fine-tuning loop after one epoch (0: the starting weights, relabelled)."""

    model: FusedEmotionModel
    labels: tuple[str, ...]  # the model's labels
    epoch: int
    loss: float | None  # mean training loss of the epoch (None at epoch 0)
    predicted: list[str]  # the label predicted for each validation clip (among the clips' labels), in order
    validation_ua: float  # 0.0 without validation clips


def finetune_epochs(head: EmotionHead, data: TrainingData, train: Sequence[int], validation: Sequence[int],
                    settings: FinetuneSettings = FinetuneSettings(), *, unlabelled: Sequence[int] = (),
                    source: SourceMoments | None = None, use_text: bool = True,
                    views: Mapping[int, np.ndarray] | None = None) -> Iterator[EpochState]:
    """The fine-tuning loop of a copy of ``head`` on the clips ``train``, as a generator: the state
    at epoch 0, then after every epoch, without end; the caller decides when to stop (one run's
    early stopping in ``finetune_head``, several folds in step in ``finetune_select``)."""
    if settings.layers not in ("all", "last"):
        raise ValueError(f"layers must be 'all' or 'last', not {settings.layers!r}")
    if settings.alignment and source is None:
        raise ValueError("an alignment weight needs the source moments of the starting head")
    if settings.absent_labels not in ("frozen", "trained"):
        raise ValueError(f"absent_labels must be 'frozen' or 'trained', not {settings.absent_labels!r}")
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    labels = adapted_labels(head.labels, [data.clips[i].label for i in train])
    model = relabel_head(head, labels)
    dim = model.config.audio_dim
    if views is None:
        needed = list(train) + list(validation) + list(unlabelled)
        views = dict(zip(needed, clip_views(head, data, needed)))
    y = torch.tensor([labels.index(data.clips[i].label) for i in train])
    counts = torch.bincount(y, minlength=len(labels)).float()
    present = counts > 0
    class_weight = torch.where(present, counts.sum() / (int(present.sum()) * counts.clamp(min=1)), torch.zeros(()))
    # "frozen": the loss sees only the labels of the training clips; the other rows keep the start.
    columns = torch.arange(len(labels)) if settings.absent_labels == "trained" else torch.nonzero(present)[:, 0]
    column_of = torch.full((len(labels),), -1, dtype=torch.long)
    column_of[columns] = torch.arange(len(columns))
    out_layer = model.classifier[4]
    kept_rows = torch.nonzero(~present)[:, 0] if settings.absent_labels == "frozen" else torch.zeros(0, dtype=torch.long)
    kept_weight, kept_bias = out_layer.weight.detach()[kept_rows].clone(), out_layer.bias.detach()[kept_rows].clone()
    vad = torch.tensor([CATEGORY_VAD.get(data.clips[i].label, (0.0, 0.0, 0.0)) for i in train], dtype=torch.float32)
    has_vad = torch.tensor([data.clips[i].label in CATEGORY_VAD for i in train])
    texts = {i: text_of(data, i) for i in train} if use_text else {}

    trainable = [p for name, p in model.named_parameters() if settings.layers == "all" or name.startswith("classifier.")]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in trainable:
        p.requires_grad_(True)
    optimiser = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=settings.weight_decay)
    hook = PooledHook(model) if settings.alignment else None

    val_labels = [data.clips[i].label for i in validation]
    scored = sorted({data.clips[i].label for i in train} | set(val_labels))  # the user's labels
    val_audio = [views[i] for i in validation]
    val_text = [text_of(data, i) for i in validation] if use_text else None
    start = copy.deepcopy(model.state_dict())
    scorer = copy.deepcopy(model) if settings.interpolation != 1 else model  # scored as it would be kept

    def state(epoch: int, loss: float | None) -> EpochState:
        if not validation:
            return EpochState(model, labels, epoch, loss, [], 0.0)
        if scorer is not model:
            scorer.load_state_dict(interpolated(start, model.state_dict(), settings.interpolation,
                                                _new_rows(head, labels)))
        logits = predict_logits(scorer, val_audio, val_text)
        return EpochState(model, labels, epoch, loss, predicted_labels(logits, labels, scored),
                          label_ua(logits, labels, val_labels, allowed=scored)["ua"])

    yield state(0, None)
    order = np.array(list(range(len(train))))
    steps_per_epoch = max(settings.min_steps_per_epoch, -(-len(train) // settings.batch_size))
    try:
        for epoch in itertools.count(1):
            model.train()
            if settings.layers == "last":  # the frozen body keeps its dropout off
                model.eval()
                model.classifier.train()
            draw = np.concatenate([rng.permutation(order)
                                   for _ in range(-(-steps_per_epoch * settings.batch_size // len(order)))])
            losses = []
            for step in range(steps_per_epoch):
                batch = draw[step * settings.batch_size : (step + 1) * settings.batch_size]
                ids = [train[k] for k in batch]
                audio, audio_mask = _audio_batch([views[i] for i in ids], settings, rng, dim)
                text = [texts.get(i) if rng.random() < settings.own_transcript_rate else None for i in ids]
                t, t_mask = pad_batch(text, model.config.text_dim)
                out = model(t, t_mask, audio, audio_mask)
                loss = F.cross_entropy(out.logits[:, columns], column_of[y[batch]], weight=class_weight[columns],
                                       label_smoothing=settings.label_smoothing)
                if settings.layers == "all" and settings.lambda_vad and has_vad[batch].any():
                    m = has_vad[batch]
                    loss = loss + settings.lambda_vad * F.mse_loss(out.vad[m], vad[batch][m])
                if hook is not None:
                    z = [hook.value]
                    if unlabelled:
                        picks = rng.choice(len(unlabelled), size=min(len(unlabelled), settings.batch_size),
                                           replace=False)
                        u_audio, u_mask = _audio_batch([views[unlabelled[k]] for k in picks], settings, rng, dim)
                        u_t, u_t_mask = pad_batch([None] * len(picks), model.config.text_dim)
                        model(u_t, u_t_mask, u_audio, u_mask)
                        z.append(hook.value)
                    loss = loss + settings.alignment * coral_loss(torch.cat(z), source)
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimiser.step()
                with torch.no_grad():  # weight decay would shrink them
                    out_layer.weight[kept_rows] = kept_weight
                    out_layer.bias[kept_rows] = kept_bias
                losses.append(float(loss.detach()))
            yield state(epoch, float(np.mean(losses)))
    finally:
        if hook is not None:
            hook.handle.remove()


def finetune_head(head: EmotionHead, data: TrainingData, train: Sequence[int], validation: Sequence[int],
                  settings: FinetuneSettings = FinetuneSettings(), *, unlabelled: Sequence[int] = (),
                  source: SourceMoments | None = None, use_text: bool = True,
                  views: Mapping[int, np.ndarray] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> FinetuneResult:
    """Fine-tune a copy of ``head`` on the clips ``train`` of ``data`` (their labels may be a subset
    of the head's, or new), keeping the epoch with the best UA on ``validation`` (no validation:
    the last of ``epochs_without_validation``). ``unlabelled`` clips only feed the CORAL term;
    ``views`` may hold every clip's normalised frames already (``clip_views``)."""
    if views is None:
        needed = list(train) + list(validation) + list(unlabelled)
        views = dict(zip(needed, clip_views(head, data, needed)))
    run = finetune_epochs(head, data, train, validation, settings, unlabelled=unlabelled, source=source,
                          use_text=use_text, views=views)
    first = next(run)
    model, labels = first.model, first.labels
    start = copy.deepcopy(model.state_dict())
    best_ua, best_state, best_epoch = first.validation_ua, start, 0
    history = [{"epoch": 0, "validation_ua": best_ua}]
    stale, epoch = 0, 0
    max_epochs = settings.max_epochs if validation else settings.epochs_without_validation
    if max_epochs:
        for now in run:
            epoch = now.epoch
            history.append({"epoch": epoch, "loss": now.loss, "validation_ua": now.validation_ua})
            if progress:
                progress(epoch, max_epochs)
            if not validation or now.validation_ua > best_ua:
                best_ua, best_state, best_epoch, stale = now.validation_ua, copy.deepcopy(model.state_dict()), epoch, 0
            else:
                stale += 1
            if epoch >= max_epochs or stale >= settings.patience:
                break
    run.close()
    model.load_state_dict(interpolated(start, best_state, settings.interpolation, _new_rows(head, labels)))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    metadata = HeadMetadata(**{**head.metadata.__dict__, "extra": dict(head.metadata.extra)})
    metadata.temperature = 1.0
    adapted = EmotionHead(model, metadata, head.audio_mean, head.audio_std)
    if validation:  # calibrated on the validation speakers, as the shipped head is on its own
        val_labels = [data.clips[i].label for i in validation]
        known = [k for k, label in enumerate(val_labels) if label in labels]
        audio = [views[validation[k]] for k in known]
        text = [text_of(data, validation[k]) for k in known] if use_text else None
        adapted.metadata.temperature = fit_temperature(predict_logits(model, audio, text),
                                                       np.array([labels.index(val_labels[k]) for k in known]))
    adapted.metadata.extra["finetune"] = {**asdict(settings), "epochs_trained": epoch, "best_epoch": best_epoch}
    return FinetuneResult(adapted, epoch, best_epoch, history)
