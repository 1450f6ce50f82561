"""Is MELD's weighted F1 held back by how often the head says "neutral"? A prior shift, chosen on MELD dev.

Why: weighted F1 weighs each class by its frequency, and MELD's lines are 47% neutral, so a head
trained towards balanced classes could lose weighted F1 by under-predicting neutral alone. The
shipped head reads each MELD line text-only (as ``sentimentogram train`` scores MELD test); a bias
b added to the neutral logit is chosen on MELD dev (the validation split) and applied to test.
If the best b is near 0, the figure is limited by what the text features separate, not by the prior.

    python benchmarks/meld_prior_shift.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentimentogram_cli.emotion.features import TextEncoder  # noqa: E402
from sentimentogram_cli.emotion.head import EmotionHead  # noqa: E402
from sentimentogram_cli.training.corpora import read_meld  # noqa: E402
from sentimentogram_cli.training.extract import text_tokens  # noqa: E402
from sentimentogram_cli.training.metrics import classification_metrics  # noqa: E402


def weighted_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(classification_metrics(y, predicted, sorted(set(y.tolist())))["weighted_f1"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache/features"))
    parser.add_argument("--head", type=Path, default=None, help="default: the shipped head")
    args = parser.parse_args()

    head = EmotionHead.load(args.head)
    encoder = TextEncoder(delta=TextEncoder.check_identity(head.metadata.text_encoder))
    neutral = head.labels.index("neutral")
    logits, truth = {}, {}
    for split in ("dev", "test"):
        lines = [s for s in read_meld(args.data / "text" / "meld", split) if s.label in head.labels]
        tokens = text_tokens([s.text for s in lines], encoder, args.cache, f"meld-{split}")
        p = head.predict([np.asarray(tokens[i], np.float32) for i in range(len(lines))], [None] * len(lines)).probabilities
        logits[split] = np.log(np.clip(p, 1e-9, None))
        truth[split] = np.array([head.labels.index(s.label) for s in lines])
        print(f"MELD {split}: {len(lines)} lines, {np.mean(truth[split] == neutral):.0%} neutral, "
              f"predicted neutral {np.mean(logits[split].argmax(1) == neutral):.0%}")
    shift = np.eye(len(head.labels))[neutral]
    grid = np.round(np.arange(-1.0, 2.01, 0.1), 2)
    dev = [weighted_f1(truth["dev"], (logits["dev"] + b * shift).argmax(1)) for b in grid]
    best = float(grid[int(np.argmax(dev))])
    print("| neutral bias b | MELD dev weighted F1 | MELD test weighted F1 |\n|---|---|---|")
    for b in sorted({0.0, best, -0.5, 0.5, 1.0}):
        test = weighted_f1(truth["test"], (logits["test"] + b * shift).argmax(1))
        print(f"| {b:+.1f}{' (best on dev)' if b == best else ''} | {dev[int(np.argmin(np.abs(grid - b)))]:.3f} | {test:.3f} |")


if __name__ == "__main__":
    main()
