"""Fine-tune the text encoder's top layers for emotion on GoEmotions + MELD train.

Why: frozen MiniLM token embeddings barely separate emotions (a logistic regression on them gets
GoEmotions macro-F1 0.38); fine-tuned end to end they do (0.62). Only the top ``TOP_LAYERS`` layers
train, so the package ships a small delta (``emotion.text_delta``) and a step costs less. The
classifier here (mean-pooled tokens → linear) only trains the encoder; the fused head is trained
afterwards on the fine-tuned token embeddings. Sampling: class weights ∝ frequency^-½ in the loss,
a middle way between MELD's neutral-heavy frequencies and balanced classes.

With ``context`` a sentence that has one (MELD: the line before it in its dialogue) is encoded as
the pair ``[CLS] previous [SEP] line [SEP]`` and pooled over the line's own tokens, so the
encoder can read the conversation while each line keeps its own embedding. A full epoch takes
most of an hour on a busy CPU, so training writes a checkpoint every ``checkpoint_every`` steps and
a run killed part-way resumes from it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..constants import EMOTIONS, MAX_TEXT_TOKENS
from ..errors import InputError
from .corpora import Sentence

__all__ = ["TextFinetuneSettings", "TextClassifier", "finetune_text_classifier", "finetune_text_encoder",
           "predict_text", "TOP_LAYERS"]

TOP_LAYERS = (4, 5)  # of MiniLM's 0..5


@dataclass(frozen=True)
class TextFinetuneSettings:
    epochs: int = 1
    batch_size: int = 32
    encoder_lr: float = 1e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    class_weight_power: float = 0.5  # loss weight ∝ frequency^-power (0: plain, 1: balanced)
    layers: tuple[int, ...] = TOP_LAYERS
    # A seeded sample of this many sentences (None: all, a full epoch of ~46k). The first shipped
    # delta saw a sample of 12,800 (400 steps).
    max_sentences: int | None = None
    context: bool = False  # encode the previous line of a dialogue before the line (see above)
    seed: int = 0
    checkpoint_every: int = 50  # steps between checkpoints (when a checkpoint path is given)


class TextClassifier(nn.Module):
    """The encoder, tokens pooled over the line (``pool_mask``), and a linear layer."""

    def __init__(self, encoder: nn.Module, n_classes: int):
        super().__init__()
        self.encoder = encoder
        self.out = nn.Linear(encoder.config.hidden_size, n_classes)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              token_type_ids=batch["token_type_ids"]).last_hidden_state
        mask = batch["pool_mask"].unsqueeze(-1).to(hidden.dtype)
        return self.out((hidden * mask).sum(1) / mask.sum(1).clamp(min=1))


def encode_batch(tokenizer, sentences: Sequence[Sentence], context: bool) -> dict[str, torch.Tensor]:
    """Token ids of the sentences (right-padded), with the previous line first when ``context``;
    ``pool_mask`` marks the line's own tokens ([CLS] too when it has no context, as the shipped
    encoder's token embeddings have)."""
    items = []
    for s in sentences:
        if context and s.context:
            item = tokenizer(s.context, s.text, truncation="longest_first", max_length=MAX_TEXT_TOKENS)
            item["pool_mask"] = list(item["token_type_ids"])
        else:
            item = tokenizer(s.text, truncation=True, max_length=MAX_TEXT_TOKENS)
            item["pool_mask"] = [1] * len(item["input_ids"])
        items.append(item)
    width = max(len(item["input_ids"]) for item in items)

    def padded(key: str, fill: int) -> torch.Tensor:
        return torch.tensor([list(item[key]) + [fill] * (width - len(item[key])) for item in items])

    return {"input_ids": padded("input_ids", tokenizer.pad_token_id), "attention_mask": padded("attention_mask", 0),
            "token_type_ids": padded("token_type_ids", 0), "pool_mask": padded("pool_mask", 0)}


def _batches(sentences: list[Sentence], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(sentences)), key=lambda i: (len(sentences[i].text), rng.random()))
    batches = [order[b : b + batch_size] for b in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def _trainable(name: str, layers: tuple[int, ...]) -> bool:
    return name.startswith(("out.",) + tuple(f"encoder.encoder.layer.{i}." for i in layers))


class _Checkpoint:
    """The trainable weights, optimiser, scheduler and random state every few steps (atomic writes)."""

    def __init__(self, path: Path | None, identity: dict):
        self.path, self.identity = (Path(path) if path else None), identity

    def load(self, model: TextClassifier, optimiser, scheduler) -> int:
        if self.path is None or not self.path.is_file():
            return 0
        state = torch.load(self.path, weights_only=False)
        if state.get("identity") != self.identity:
            raise InputError(f"{self.path} is a checkpoint of another fine-tuning run: delete it or pass another")
        model.load_state_dict(state["model"], strict=False)
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"])

    def save(self, model: TextClassifier, optimiser, scheduler, step: int) -> None:
        if self.path is None:
            return
        layers = self.identity["settings"]["layers"]
        weights = {k: v for k, v in model.state_dict().items() if _trainable(k, tuple(layers))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".part")
        torch.save({"identity": self.identity, "step": step, "model": weights, "optimiser": optimiser.state_dict(),
                    "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()}, tmp)
        tmp.replace(self.path)


def finetune_text_classifier(encoder: nn.Module, tokenizer, sentences: list[Sentence],
                             settings: TextFinetuneSettings = TextFinetuneSettings(),
                             labels: tuple[str, ...] = EMOTIONS,
                             progress: Callable[[int, int], None] | None = None,
                             checkpoint: Path | None = None) -> TextClassifier:
    """Fine-tune ``encoder`` (a transformers BERT model) in place on labelled sentences; returns the
    classifier that trained it (in eval mode). ``checkpoint``: resume from / save to this file."""
    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    sentences = [s for s in sentences if s.label in labels and s.text.strip()]
    if settings.max_sentences is not None and len(sentences) > settings.max_sentences:
        sentences = rng.sample(sentences, settings.max_sentences)
    y_all = np.array([labels.index(s.label) for s in sentences])
    counts = np.bincount(y_all, minlength=len(labels)).astype(np.float64)
    weights = np.where(counts > 0, np.maximum(counts, 1) ** -settings.class_weight_power, 0.0)
    weights *= counts.sum() / (weights * counts).sum()  # mean weight per sample 1
    model = TextClassifier(encoder, len(labels))
    for name, param in model.named_parameters():
        param.requires_grad = _trainable(name, settings.layers)
    groups = [{"params": [p for p in encoder.parameters() if p.requires_grad], "lr": settings.encoder_lr},
              {"params": model.out.parameters(), "lr": settings.head_lr}]
    optimiser = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    schedule = [batch for _ in range(settings.epochs) for batch in _batches(sentences, settings.batch_size, rng)]
    steps = len(schedule)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[settings.encoder_lr, settings.head_lr],
                                                    total_steps=steps, pct_start=0.06, anneal_strategy="linear")
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    saver = _Checkpoint(checkpoint, {"settings": asdict(settings), "labels": list(labels), "n": len(sentences),
                                     "counts": counts.tolist()})
    first = saver.load(model, optimiser, scheduler)
    model.train()
    for step in range(first, steps):
        idx = schedule[step]
        batch = encode_batch(tokenizer, [sentences[i] for i in idx], settings.context)
        loss = loss_fn(model(batch), torch.from_numpy(y_all[idx]))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        if step < steps - 1:
            scheduler.step()
        if (step + 1) % settings.checkpoint_every == 0 or step + 1 == steps:  # the last: a rerun only loads
            saver.save(model, optimiser, scheduler, step + 1)
        if progress:
            progress(step + 1, steps)
    for param in model.parameters():
        param.requires_grad = True
    return model.eval()


def finetune_text_encoder(encoder: nn.Module, tokenizer, sentences: list[Sentence],
                          settings: TextFinetuneSettings = TextFinetuneSettings(),
                          labels: tuple[str, ...] = EMOTIONS,
                          progress: Callable[[int, int], None] | None = None,
                          checkpoint: Path | None = None) -> nn.Module:
    """Fine-tune ``encoder`` in place (see ``finetune_text_classifier``); returns it in eval mode."""
    return finetune_text_classifier(encoder, tokenizer, sentences, settings, labels, progress, checkpoint).encoder


@torch.inference_mode()
def predict_text(classifier: TextClassifier, tokenizer, sentences: Sequence[Sentence], context: bool,
                 batch_size: int = 64) -> np.ndarray:
    """The classifier's probabilities (n, labels) for the sentences, read as it was trained."""
    classifier.eval()
    out = np.zeros((len(sentences), classifier.out.out_features), np.float32)
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].text) + len(sentences[i].context))
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        logits = classifier(encode_batch(tokenizer, [sentences[i] for i in idx], context))
        out[idx] = torch.softmax(logits, dim=-1).numpy()
    return out
