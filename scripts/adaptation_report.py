"""The model card's adaptation table and plot in one command: runs (or resumes) the leave-one-
corpus-out comparison of fine-tuning recipes, prints the markdown tables and draws the PNG.

    nice -n 10 python scripts/adaptation_report.py

``--heads`` names the leave-one-corpus-out heads (audio only, trained without the corpus at all:
``report.leave_one_corpus_out`` saves them); the features come
from the training cache (``.cache/features``, the whole clip list, Whisper layers 1–4). Results are
kept in ``reports/adaptation.json`` after every run, so a rerun only draws what is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # research/ lives in the checkout, not in the wheel


def plot(results: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from research.adaptation_report import SHARES, ZERO_SHOT, summary

    table = summary(results)
    fig, ax = plt.subplots(figsize=(7.5, 4.6), dpi=120)
    xs = [100 * s for s in SHARES]
    for name, row in table.items():
        ys = [row[f"{s:.2f}"] for s in SHARES]
        points = [(x, 100 * y) for x, y in zip(xs, ys) if y is not None]
        if not points:
            continue
        style = dict(linestyle="--", color="grey", marker=None) if name == ZERO_SHOT else dict(marker="o")
        ax.plot(*zip(*points), label=name, **style)
    ax.set_xscale("log")
    ax.set_xticks(xs, [f"{x:g}%" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel("share of the left-out corpus's speakers used for adaptation")
    ax.set_ylabel("UA on its other speakers, mean of 5 corpora (%)")
    ax.set_title("Adapting the head to a corpus it never saw (leave one corpus out)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(png.stem + ".part.png")
    fig.savefig(tmp)
    tmp.replace(png)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", default=".cache/heads/loco/without-{corpus}.safetensors",
                        help="the leave-one-corpus-out heads, {corpus} standing for the corpus left out")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/features"))
    parser.add_argument("--json", type=Path, default=Path("reports/adaptation.json"))
    parser.add_argument("--png", type=Path, default=Path("docs/adaptation.png"))
    parser.add_argument("--draws", type=int, default=1, help="speaker draws per corpus and share")
    parser.add_argument("--corpora", default="ravdess,tess,nemo,ased,turev")
    parser.add_argument("--shares", default="0.20,0.10,0.05,0.50", help="in the order they are run")
    parser.add_argument("--methods", default=None, help="comma-separated method names (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 runs faster on a busy machine)")
    parser.add_argument("--wait", type=float, default=0, help="minutes to wait for a head still being trained")
    parser.add_argument("--table-only", action="store_true", help="print the tables and plot from the JSON, run nothing")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from research.adaptation_report import METHODS, markdown_table, run_comparison

    if not args.table_only:
        from sentimentogram_cli.emotion.features import AudioEncoder
        from sentimentogram_cli.training.corpora import read_clips
        from sentimentogram_cli.training.extract import FEATURE_CONVENTION, clip_frames
        from sentimentogram_cli.training.feature_cache import RaggedArrays, cache_key

        labels_csv = args.data / "emotional_speech" / "labels.csv"
        if not labels_csv.is_file():
            print(f"error: {labels_csv} not found: pass --data pointing at the shared data folder", file=sys.stderr)
            return 3
        clips = read_clips(labels_csv)
        encoder = AudioEncoder()  # the defaults, so the cache key is the training cache's
        stem = args.cache / f"audio-{cache_key(encoder.identity, FEATURE_CONVENTION, encoder.layers, [str(c.path) for c in clips])}"
        if not RaggedArrays.exists(stem):  # never start a whole-corpus extraction from here
            print(f"error: no feature cache {stem}.*: build it first (sentimentogram train, or evaluate --report)",
                  file=sys.stderr)
            return 3
        frames = clip_frames(clips, encoder, args.cache)

        def head_for(corpus: str) -> Path:
            path = Path(args.heads.format(corpus=corpus))
            deadline = time.time() + 60 * args.wait
            while not path.is_file() and time.time() < deadline:
                time.sleep(20)
            if not path.is_file():
                raise SystemExit(f"error: no head {path}: train the leave-one-corpus-out heads first")
            return path

        methods = args.methods.split(",") if args.methods else list(METHODS)
        start = time.time()
        run_comparison(clips, frames, encoder.layers, encoder.identity, head_for, args.json, draws=args.draws,
                       corpora=args.corpora.split(","), shares=[float(s) for s in args.shares.split(",")],
                       methods=methods, log=lambda line: print(f"[{time.time() - start:6.0f} s] {line}", flush=True))
    import json

    results = json.loads(args.json.read_text())
    print(markdown_table(results))
    plot(results, args.png)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
