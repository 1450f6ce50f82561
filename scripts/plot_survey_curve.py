"""Draw the adaptive-survey curve of docs/preferences.md: within-person accuracy against the number of
answers, the study's own order against the adaptive order, with 95% Wilson intervals.

It runs the same evaluation as `sentimentogram prefs evaluate` (same protocol, same seed), so the
figure and the printed table come from one computation. A development script: the product never
imports it (matplotlib is in the `test` extra only).

    python scripts/plot_survey_curve.py --data ../shared/data/preferences/seed_user_study \
        --out docs/preferences-survey-curve.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402

from sentimentogram_cli.preferences import evaluate, load_answers  # noqa: E402

LABELS = {"fixed": "study's order", "adaptive": "adaptive (most informative next)"}
COLOURS = {"fixed": "#7a7f8c", "adaptive": "#2b6cd9"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/preferences/seed_user_study"))
    parser.add_argument("--out", type=Path, default=Path("docs/preferences-survey-curve.png"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    people = load_answers([args.data])
    report = evaluate(people, args.seed)
    majority = next(r.within for r in report.rows if r.method == "majority style")

    figure, axes = plt.subplots(figsize=(7.5, 4.2), dpi=120)
    for shift, (order, scores) in zip((-0.08, 0.08), report.curve.items()):
        n = [i + shift for i in range(len(scores))]
        accuracy = [100 * s.accuracy for s in scores]
        low, high = zip(*(s.interval() for s in scores))
        axes.errorbar(n, accuracy, yerr=[[a - 100 * lo for a, lo in zip(accuracy, low)],
                                         [100 * hi - a for a, hi in zip(accuracy, high)]],
                      marker="o", markersize=4, capsize=2, linewidth=1.4, color=COLOURS[order], label=LABELS[order])
        print(order, " ".join(f"{a:.1f}" for a in accuracy))
    axes.axhline(50, color="#999999", linewidth=0.8, linestyle=":", label="chance")
    axes.axhline(100 * majority.accuracy, color="#d98a2b", linewidth=0.8, linestyle="--",
                 label=f"majority style, all {len(report.curve['fixed']) - 1} known answers")
    axes.set_xlabel("answers given (from the person's known half)")
    axes.set_ylabel("accuracy on the held-out half (%)")
    axes.set_title(f"Seed study, {report.n_people} people: personalised ranker after n answers "
                   f"(95% Wilson, n={report.curve['fixed'][0].n} per point)", fontsize=9)
    axes.set_xticks(range(len(report.curve["fixed"])))
    axes.grid(alpha=0.25)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
