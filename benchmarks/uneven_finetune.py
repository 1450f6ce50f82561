"""`train --finetune` on a user's uneven folder, measured by leaving one corpus out.

A real folder is uneven: eight speakers with 1 to 48 clips each (issue 24: 90 Urdu clips gained
nothing). For each corpus left out, the audio-only head trained without it (the ``packed`` heads of
``benchmarks/product_path.py``, found in the same cache by the same ``cached_train_head`` call) is
given seeded uneven folders drawn from that corpus (``--counts`` clips per speaker, capped by what
the corpus has; validation and test speakers of the shipped head are never drawn). A user labels
about ``--share`` of the folder's clips: the whole speakers whose clips come nearest that share.
Exactly what ``train --finetune`` runs (``finetune_selected`` with the command's settings) adapts
the head on them; the folder's other speakers are the test. Printed: UA on those speakers before
(zero-shot) and after, per draw, per corpus and the mean, with the CPU seconds of each fine-tune,
and the test recall of the labels the folder has but the labelled speakers lack.

Features: each clip's packed frames (its speaker's clips back to back in 30 s chunks), centred on
its speaker's mean over the folder: what the command encodes (``encode_user_clips``). UA is over
the labels the folder has, before and after alike (the argmax among them); the adapted head keeps
every label of the starting head, so a label the labelled speakers lack can still be predicted.

Each run is cached in ``--results`` under a key made of the draw, the settings and the source of
the fine-tuning modules, so a rerun prints at once and a changed procedure is measured again.

    nice -n 15 python benchmarks/uneven_finetune.py --data ../shared/data --seeds 0 1 2
    nice -n 15 python benchmarks/uneven_finetune.py --data ../shared/data --set learning_rate=1e-3
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from product_path import RECIPES, audio_data  # noqa: E402  (same data and recipe: the heads' cache is hit)

from sentimentogram_cli.training import coral, finetune, finetune_select  # noqa: E402
from sentimentogram_cli.training.data import TrainingData  # noqa: E402
from sentimentogram_cli.training.finetune import (FinetuneSettings, clip_views, label_ua, predict_logits,  # noqa: E402
                                                  predicted_labels)
from sentimentogram_cli.training.finetune_select import finetune_selected  # noqa: E402
from sentimentogram_cli.training.report import CORPORA, TEST_SPEAKERS, VALIDATION_SPEAKERS  # noqa: E402
from sentimentogram_cli.training.train import cached_train_head  # noqa: E402

COUNTS = (1, 2, 4, 6, 9, 12, 20, 48)  # clips per speaker of the kind of folder


class _Rows:
    """Some rows of a ragged feature array, indexed from 0 (no copy)."""

    def __init__(self, frames, rows):
        self.frames, self.rows, self.data = frames, list(rows), frames.data

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.frames[self.rows[k]]


def draw_folder(clips, corpus: str, counts: tuple[int, ...], seed: int) -> list[int]:
    """Clip indices of an uneven folder: up to len(counts) speakers of the corpus (the largest
    counts when it has fewer), each with that many of their clips at random (or all they have)."""
    rng = random.Random(f"uneven-{corpus}-{seed}")
    by_speaker: dict[str, list[int]] = {}
    for i, c in enumerate(clips):
        if c.corpus == corpus and c.speaker not in VALIDATION_SPEAKERS | TEST_SPEAKERS:
            by_speaker.setdefault(c.speaker, []).append(i)
    speakers = sorted(by_speaker)
    rng.shuffle(speakers)
    wanted = sorted(counts)[-len(speakers):]
    folder = []
    for speaker, n in zip(speakers, wanted):
        folder += rng.sample(by_speaker[speaker], min(n, len(by_speaker[speaker])))
    return sorted(folder)


def labelled_speakers(speaker_of: list[str], share: float, seed: int) -> set[str]:
    """The whole speakers a user labels: of every set of speakers (not none, not all), those whose
    clips come nearest ``share`` of the folder; one of them at random (seeded)."""
    sizes: dict[str, int] = {}
    for s in speaker_of:
        sizes[s] = sizes.get(s, 0) + 1
    speakers = sorted(sizes)
    target = share * len(speaker_of)
    subsets = [set(c) for r in range(1, len(speakers)) for c in itertools.combinations(speakers, r)
               if sum(sizes[s] for s in c) >= finetune_select.MIN_CLIPS]
    best = min(abs(sum(sizes[s] for s in c) - target) for c in subsets)
    nearest = [c for c in subsets if abs(sum(sizes[s] for s in c) - target) == best]
    return random.Random(f"labelled-{seed}").choice(nearest)


def source_hash() -> str:
    """Of the fine-tuning modules: a changed procedure is measured again."""
    digest = hashlib.sha256()
    for module in (finetune, finetune_select, coral):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def folder_split(data, folder: list[int], share: float, seed: int):
    """The folder's own TrainingData, its labelled clips and its test clips (indices into it)."""
    clips = data.clips
    sub = TrainingData([clips[i] for i in folder], _Rows(data.frames, folder), [], {}, data.audio_encoder, "none",
                       frame_layers=data.frame_layers)
    speaker_of = [c.speaker for c in sub.clips]
    chosen = labelled_speakers(speaker_of, share, seed)
    labelled = [k for k, s in enumerate(speaker_of) if s in chosen]
    test = [k for k, s in enumerate(speaker_of) if s not in chosen]
    return sub, labelled, test


def one_run(head, data, folder: list[int], settings: FinetuneSettings, share: float, seed: int,
            unlabelled: bool = False) -> dict:
    """``unlabelled``: the folder's other clips are in the CSV without a label (self-training may read them)."""
    sub, labelled, test = folder_split(data, folder, share, seed)
    speaker_of = [c.speaker for c in sub.clips]
    folder_labels = sorted({c.label for c in sub.clips})
    test_labels = [sub.clips[k].label for k in test]
    missing = sorted(set(test_labels) - {sub.clips[k].label for k in labelled})

    def scores(h) -> tuple[float, dict[str, float]]:
        """UA on the test speakers, and the recall of each label the labelled speakers lack."""
        logits = predict_logits(h.model, clip_views(h, sub, test))
        predicted = predicted_labels(logits, h.labels, folder_labels)
        recall = {label: round(float(np.mean([p == label for p, t in zip(predicted, test_labels) if t == label])), 4)
                  for label in missing}
        return label_ua(logits, h.labels, test_labels, allowed=folder_labels)["ua"], recall

    zero, zero_recall = scores(head)
    cpu = time.process_time()
    selection = finetune_selected(head, sub, labelled, settings, use_text=False, unlabelled=test if unlabelled else ())
    cpu = time.process_time() - cpu
    tuned, tuned_recall = scores(selection.head)
    sizes = {s: speaker_of.count(s) for s in sorted(set(speaker_of), key=lambda s: -speaker_of.count(s))}
    return {"folder": sizes, "labelled_speakers": sorted({speaker_of[k] for k in labelled}), "n_labelled": len(labelled), "n_test": len(test),
            "zero_shot": zero, "finetuned": tuned, "epochs": selection.epochs,
            "curve": [round(x, 4) for x in selection.curve], "folds": [len(f) for f in selection.folds],
            "split": selection.split, "cpu_seconds": round(cpu, 1), "labels_not_labelled": missing,
            "pseudo_labelled": len(selection.pseudo),
            "pseudo_label_accuracy": (round(float(np.mean([sub.clips[k].label == v for k, v in selection.pseudo.items()])), 4)
                                      if selection.pseudo else None),
            "recall_not_labelled": {label: [zero_recall[label], tuned_recall[label]] for label in missing}}


def test_curve(head, data, folder: list[int], settings: FinetuneSettings, share: float, seed: int,
               epochs: int) -> list[float]:
    """The test speakers' UA after 0 to ``epochs`` epochs of a fit on every labelled clip (the
    refit's own steps: the same seed and clips): to explain, never to choose."""
    sub, labelled, test = folder_split(data, folder, share, seed)
    every = settings.variant(patience=epochs + 1, max_epochs=epochs)
    return [round(h["validation_ua"], 4) for h in finetune.finetune_head(head, sub, labelled, test, every,
                                                                         use_text=False).history]


def parse_settings(pairs: list[str]) -> FinetuneSettings:
    """``--set name=value`` over the command's settings (``train --finetune`` defaults)."""
    types = {f.name: f.type for f in fields(FinetuneSettings)}
    changes = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in types:
            raise SystemExit(f"error: no fine-tuning setting {name!r} (known: {', '.join(types)})")
        kind = str(types[name])
        changes[name] = (value if "str" in kind else int(value) if kind == "int"
                         else None if value == "none" else float(value))
    return FinetuneSettings(**changes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache/features"))
    parser.add_argument("--heads", type=Path, default=Path(".cache/heads/product"))
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="packed")
    parser.add_argument("--corpora", nargs="*", default=list(CORPORA))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--counts", default=",".join(map(str, COUNTS)), help="clips per speaker of a folder")
    parser.add_argument("--share", type=float, default=0.2, help="share of the folder's clips labelled")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="fine-tuning settings other than the command's defaults")
    parser.add_argument("--results", type=Path, default=Path(".cache/uneven_finetune.json"))
    parser.add_argument("--json", type=Path, default=None, help="write this run's rows and means")
    parser.add_argument("--unlabelled", action="store_true",
                        help="list the folder's other clips without a label, as a user who labelled part of it")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--diagnose", action="store_true",
                        help="also the test speakers' UA after each epoch of a fit on every labelled clip (to explain)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    labels_csv = args.data / "emotional_speech" / "labels.csv"
    if not labels_csv.is_file():
        print(f"error: {labels_csv} not found: pass --data pointing at the shared data folder", file=sys.stderr)
        return 3
    counts = tuple(int(x) for x in args.counts.split(","))
    settings = parse_settings(args.set)
    cache = json.loads(args.results.read_text()) if args.results.is_file() else {}
    data = audio_data(args.data, args.cache)
    clips = data.clips
    code = source_hash()
    print(f"features: packed frames (layers {data.frame_layers}), speaker-centred over the folder; audio only; "
          f"heads: leave-one-corpus-out, recipe {args.recipe}; settings: {args.set or 'the command defaults'}; "
          f"fine-tuning source {code}", flush=True)
    rows = []
    for corpus in args.corpora:
        train = [i for i, c in enumerate(clips) if c.corpus != corpus
                 and c.speaker not in VALIDATION_SPEAKERS | TEST_SPEAKERS]
        head = cached_train_head(data, train, RECIPES[args.recipe], args.heads / args.recipe)
        head_id = hashlib.sha256(head.model.classifier[4].weight.detach().numpy().tobytes()).hexdigest()[:16]
        for seed in args.seeds:
            folder = draw_folder(clips, corpus, counts, seed)
            key = json.dumps([corpus, seed, counts, args.share, head_id, asdict(settings), code]
                             + (["unlabelled"] if args.unlabelled else []), sort_keys=True)
            before = json.dumps(cache.get(key))
            if key not in cache:
                cache[key] = one_run(head, data, folder, settings.variant(seed=seed), args.share, seed, args.unlabelled)
            if args.diagnose and "test_curve" not in cache[key]:
                cache[key]["test_curve"] = test_curve(head, data, folder, settings.variant(seed=seed), args.share, seed,
                                                     len(cache[key]["curve"]) - 1)
            if json.dumps(cache[key]) != before:
                tmp = args.results.with_name(args.results.name + f".{os.getpid()}.tmp")
                tmp.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(cache, indent=1))
                tmp.replace(args.results)
            row = {"corpus": corpus, "seed": seed, **cache[key]}
            rows.append(row)
            print(f"{corpus} seed {seed}: {row['zero_shot']:.1%} -> {row['finetuned']:.1%} "
                  f"({row['epochs']} epochs; curve {row['curve']}; {row['cpu_seconds']} CPU s)"
                  + (f"; {row['pseudo_labelled']} pseudo-labels, {row['pseudo_label_accuracy']:.0%} right"
                     if row.get("pseudo_labelled") else "")
                  + (f"; test UA by epoch {row['test_curve']}" if "test_curve" in row else "")
                  + (f"; not labelled (test recall before, after): {row['recall_not_labelled']}"
                     if row.get("labels_not_labelled") else ""), flush=True)
    print_table(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps({"settings": asdict(settings), "counts": counts, "share": args.share,
                                   "recipe": args.recipe, "rows": rows}, indent=1))
        tmp.replace(args.json)
    return 0


def print_table(rows: list[dict]) -> None:
    print("\n| corpus | seed | folder (clips per speaker) | labelled clips (speakers) | test clips | zero-shot UA "
          "| fine-tuned UA | gain | epochs | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['corpus']} | {r['seed']} | {','.join(map(str, r['folder'].values()))} | {r['n_labelled']} "
              f"({len(r['labelled_speakers'])}) | {r['n_test']} | {r['zero_shot']:.1%} | {r['finetuned']:.1%} | "
              f"{r['finetuned'] - r['zero_shot']:+.1%} | {r['epochs']} | {r['cpu_seconds']:.0f} |")
    print("\n| corpus | draws | zero-shot UA | fine-tuned UA | gain | median CPU s |")
    print("|---|---|---|---|---|---|")
    means = []
    for corpus in dict.fromkeys(r["corpus"] for r in rows):
        mine = [r for r in rows if r["corpus"] == corpus]
        z, f = np.mean([r["zero_shot"] for r in mine]), np.mean([r["finetuned"] for r in mine])
        means.append((z, f))
        print(f"| {corpus} | {len(mine)} | {z:.1%} | {f:.1%} | {f - z:+.1%} | "
              f"{np.median([r['cpu_seconds'] for r in mine]):.0f} |")
    z, f = np.mean([m[0] for m in means]), np.mean([m[1] for m in means])
    print(f"| mean of corpora | {len(rows)} | {z:.1%} | {f:.1%} | {f - z:+.1%} | "
          f"{np.median([r['cpu_seconds'] for r in rows]):.0f} |")
    if all("test_curve" in r for r in rows):  # --diagnose
        allowed = [r["test_curve"][int(np.argmax(r["curve"]))] - r["zero_shot"] for r in rows]
        print(f"\nwith epoch 0 allowed (the folds' best, from the test curves): mean gain over the draws "
              f"{np.mean(allowed):+.1%}; " + ", ".join(f"{r['corpus']} {r['seed']}: {g:+.1%}" for r, g in zip(rows, allowed)))
        corpora = list(dict.fromkeys(r["corpus"] for r in rows))
        fixed = [np.mean([np.mean([r["test_curve"][e] - r["test_curve"][0] for r in rows if r["corpus"] == c])
                          for c in corpora]) for e in range(1, min(len(r["test_curve"]) for r in rows))]
        print("test UA gain after a fixed number of epochs of the refit (mean of corpora): "
              + ", ".join(f"{e}: {g:+.1%}" for e, g in enumerate(fixed, 1)))
    recalls = [pair for r in rows for pair in r.get("recall_not_labelled", {}).values()]
    if recalls:
        print(f"\ntest recall of the {len(recalls)} labels a folder has but its labelled speakers lack "
              f"(mean over them): before {np.mean([b for b, _ in recalls]):.1%}, after {np.mean([a for _, a in recalls]):.1%}")


if __name__ == "__main__":
    sys.exit(main())
