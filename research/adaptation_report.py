"""Choosing the fine-tuning recipe by leave-one-corpus-out: for each corpus, the head trained
without it is adapted with 5%, 10%, 20% and 50% of that corpus's speakers and tested on its other
speakers, by each method of ``METHODS``; the model card's adaptation table and plot come from here.

Why a module of its own: it needs the shared corpora, their feature cache and the leave-one-
corpus-out heads (``report.leave_one_corpus_out``), and scikit-learn for its
logistic-regression baseline, none of which the product needs. Results go to a JSON file after
every single run, so an interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sentimentogram_cli.emotion.head import EmotionHead
from sentimentogram_cli.training.corpora import Clip
from sentimentogram_cli.training.data import TrainingData
from sentimentogram_cli.training.finetune import (FinetuneSettings, clip_views, finetune_head, label_ua, labelled_split, pooled_features,
                       predict_logits, source_moments)
from sentimentogram_cli.training.report import CORPORA, TEST_SPEAKERS, VALIDATION_SPEAKERS

__all__ = ["SHARES", "METHODS", "adaptation_speakers", "run_comparison", "summary", "markdown_table"]

SHARES = (0.05, 0.10, 0.20, 0.50)
# Method name → fine-tuning settings; None: the frozen-feature logistic-regression baseline.
METHODS: dict[str, FinetuneSettings | None] = {
    "logistic regression (frozen features)": None,
    "fine-tune last layers": FinetuneSettings(layers="last"),
    "fine-tune last layers + CORAL": FinetuneSettings(layers="last", alignment=1.0),
    "fine-tune all layers": FinetuneSettings(layers="all"),
    "fine-tune all layers + CORAL": FinetuneSettings(layers="all", alignment=1.0),
}
ZERO_SHOT = "zero-shot (no adaptation)"
SOURCE_SAMPLE = 3000  # source clips whose pooled features give the CORAL moments


class _Rows:
    """Some rows of a ragged feature array, indexed from 0 (no copy)."""

    def __init__(self, frames, rows: Sequence[int]):
        self.data, self.rows, self.frames = frames.data, list(rows), frames

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.frames[self.rows[k]]


def subset(clips: list[Clip], frames, rows: Sequence[int], frame_layers: tuple[int, ...], identity: str) -> TrainingData:
    return TrainingData([clips[i] for i in rows], _Rows(frames, rows), [], {}, identity, "", frame_layers=frame_layers)


def adaptation_speakers(speakers: Sequence[str], share: float, draw: int) -> list[str]:
    """The first ``share`` of the corpus's speakers in the draw's order (at least one, never all):
    nested, so a larger share adds speakers to a smaller one's."""
    order = sorted(set(speakers))
    random.Random(f"adaptation-{draw}").shuffle(order)
    return order[: min(len(order) - 1, max(1, round(share * len(order))))]


def _pooled_stats(views: Sequence[np.ndarray]) -> np.ndarray:
    """Mean and standard deviation over each clip's frames: the baseline's frozen features."""
    return np.stack([np.concatenate([v.astype(np.float32).mean(axis=0), v.astype(np.float32).std(axis=0)])
                     for v in views])


def logistic_baseline(features: np.ndarray, labels: list[str], train: list[int], validation: list[int],
                      test: list[int], seed: int) -> tuple[np.ndarray, list[str], float]:
    """Standardised features → logistic regression (balanced classes); C chosen on the validation
    speakers when there are any. Returns test scores, the class order and C."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fit(c, rows):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=300, tol=1e-3, class_weight="balanced",
                                                                   random_state=seed))
        return model.fit(features[rows], [labels[i] for i in rows])

    c = 0.01
    if validation:
        scores = {}
        for candidate in (0.001, 0.01, 0.1, 1.0):
            model = fit(candidate, train)
            classes = list(model.classes_)
            scores[candidate] = label_ua(model.decision_function(features[validation]), classes,
                                         [labels[i] for i in validation], allowed=classes)["ua"]
        c = max(scores, key=lambda k: (scores[k], -k))
    model = fit(c, train)
    return model.decision_function(features[test]), list(model.classes_), c


def run_comparison(clips: list[Clip], frames, frame_layers: tuple[int, ...], identity: str,
                   head_for: Callable[[str], Path], out: Path, draws: int = 1,
                   corpora: Sequence[str] = CORPORA, shares: Sequence[float] = (0.20, 0.10, 0.05, 0.50),
                   methods: Sequence[str] = tuple(METHODS), log: Callable[[str], None] = print) -> dict:
    """Every (corpus, share, draw, method) not yet in ``out``; ``out`` is rewritten after each.
    ``head_for(corpus)`` is the path of the head trained without the corpus; runs made from another
    version of that file (its SHA-256 is kept) are dropped and made again."""
    out = Path(out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results.setdefault("runs", {})
    results.setdefault("heads", {})
    results["methods"] = {name: (asdict(s) if s else "logistic regression") for name, s in METHODS.items()}

    def save():
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(out)

    prepared: dict[str, tuple] = {}  # corpus → head, clips and frames, moments, baseline features
    for share in shares:  # every corpus at one share before the next share
        for corpus in corpora:
            for draw in range(draws):
                key = f"{corpus}/{share:.2f}/{draw}"
                if corpus not in prepared and results["heads"].get(corpus) != _sha256(head_for(corpus)):
                    results["runs"] = {k: v for k, v in results["runs"].items() if not k.startswith(f"{corpus}/")}
                if all(m in results["runs"].get(key, {}) for m in (ZERO_SHOT, *methods)):
                    continue
                if corpus not in prepared:
                    path = head_for(corpus)
                    results["heads"][corpus] = _sha256(path)
                    head, data, views, moments = _prepare(clips, frames, frame_layers, identity,
                                                          lambda _: EmotionHead.load(path), corpus)
                    prepared[corpus] = (head, data, views, moments,
                                        _pooled_stats([views[k] for k in range(len(data.clips))]))
                run = results["runs"].setdefault(key, {})
                _one_run(*prepared[corpus], share, draw, run, methods, key, log, save)
    save()
    return results


def _sha256(path: Path) -> str | None:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else None


def _prepare(clips, frames, frame_layers, identity, head_for, corpus):
    """The starting head, the corpus's clips and normalised frames, and the CORAL source moments
    (pooled features of a sample of the clips the head was trained on)."""
    head = head_for(corpus)
    rows = [i for i, c in enumerate(clips) if c.corpus == corpus]
    data = subset(clips, frames, rows, frame_layers, identity)
    views = dict(enumerate(clip_views(head, data, list(range(len(rows))))))
    source = [i for i, c in enumerate(clips)
              if c.corpus != corpus and c.speaker not in TEST_SPEAKERS | VALIDATION_SPEAKERS]
    source = sorted(random.Random(0).sample(source, min(SOURCE_SAMPLE, len(source))))
    source_data = subset(clips, frames, source, frame_layers, identity)
    moments = source_moments(pooled_features(head.model, clip_views(head, source_data, list(range(len(source))))))
    return head, data, views, moments


def _one_run(head, data, views, moments, features, share, draw, run, methods, key, log, save):
    clips = data.clips
    adapt = set(adaptation_speakers([c.speaker for c in clips], share, draw))
    labelled = [k for k, c in enumerate(clips) if c.speaker in adapt]
    test = [k for k, c in enumerate(clips) if c.speaker not in adapt]
    if len(adapt) >= 2:
        train, validation = labelled_split(clips, labelled, FinetuneSettings().validation_share, draw)
    else:
        train, validation = labelled, []
    test_labels = [clips[k].label for k in test]
    corpus_labels = sorted({c.label for c in clips})
    run.update({"adaptation_speakers": sorted(adapt), "n_train": len(train), "n_validation": len(validation),
                "n_test": len(test)})
    if ZERO_SHOT not in run:
        logits = predict_logits(head.model, [views[k] for k in test])
        run[ZERO_SHOT] = label_ua(logits, head.labels, test_labels, allowed=corpus_labels)["ua"]
        save()
    for name in methods:
        if name in run:
            continue
        start = time.perf_counter()
        settings = METHODS[name]
        if settings is None:
            labels = [c.label for c in clips]
            scores, classes, c = logistic_baseline(features, labels, train, validation, test, draw)
            entry = {"ua": label_ua(scores, classes, test_labels)["ua"], "C": c}
        else:
            result = finetune_head(head, data, train, validation, settings.variant(seed=draw), unlabelled=test,
                                   source=moments if settings.alignment else None, use_text=False, views=views)
            adapted = result.head
            entry = {"ua": label_ua(predict_logits(adapted.model, [views[k] for k in test]), adapted.labels,
                                    test_labels)["ua"], "epochs": result.epochs, "best_epoch": result.best_epoch}
        entry["seconds"] = round(time.perf_counter() - start, 1)
        run[name] = entry
        save()
        log(f"{key} {name}: UA {entry['ua']:.1%} (zero-shot {run[ZERO_SHOT]:.1%}, {entry['seconds']:.0f} s)")


def summary(results: dict, shares: Sequence[float] = SHARES, corpora: Sequence[str] = CORPORA) -> dict:
    """Mean UA over draws, then over corpora, per method and share (only complete cells)."""
    table: dict[str, dict[str, float | None]] = {}
    for name in (ZERO_SHOT, *METHODS):
        table[name] = {}
        for share in shares:
            per_corpus = []
            for corpus in corpora:
                values = [run[name] if name == ZERO_SHOT else run[name]["ua"]
                          for key, run in results["runs"].items()
                          if key.startswith(f"{corpus}/{share:.2f}/") and name in run]
                if values:
                    per_corpus.append(float(np.mean(values)))
            table[name][f"{share:.2f}"] = float(np.mean(per_corpus)) if len(per_corpus) == len(corpora) else None
    return table


def per_corpus(results: dict, share: float, corpora: Sequence[str] = CORPORA) -> dict:
    """UA per corpus at one share (mean over draws), per method."""
    out = {}
    for name in (ZERO_SHOT, *METHODS):
        out[name] = {}
        for corpus in corpora:
            values = [run[name] if name == ZERO_SHOT else run[name]["ua"] for key, run in results["runs"].items()
                      if key.startswith(f"{corpus}/{share:.2f}/") and name in run]
            out[name][corpus] = float(np.mean(values)) if values else None
    return out


def markdown_table(results: dict, shares: Sequence[float] = SHARES, focus: float = 0.20,
                   corpora: Sequence[str] = CORPORA) -> str:
    """The model card's two tables: mean UA per method and share; per corpus at ``focus``."""
    def pct(x):
        return "—" if x is None else f"{x:.1%}"

    table = summary(results, shares, corpora)
    lines = ["| method | " + " | ".join(f"{s:.0%} of speakers" for s in shares) + " |",
             "|---" * (len(shares) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(pct(row[f'{s:.2f}']) for s in shares) + " |" for name, row in table.items()]
    corpus_rows = per_corpus(results, focus, corpora)
    lines += ["", f"UA per left-out corpus with {focus:.0%} of its speakers:", "",
              "| method | " + " | ".join(corpora) + " | mean |", "|---" * (len(corpora) + 2) + "|"]
    for name, row in corpus_rows.items():
        values = [row[c] for c in corpora]
        mean = float(np.mean(values)) if all(v is not None for v in values) else None
        lines.append(f"| {name} | " + " | ".join(pct(v) for v in values) + f" | {pct(mean)} |")
    return "\n".join(lines)
