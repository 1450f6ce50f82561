"""Audio-only heads of the recipes in `benchmarks/product_path.py`, compared on the validation speakers.

Each recipe trains one head on every speaker that is neither validation (RAVDESS 13-16, ASED 61-65)
nor test (RAVDESS 17-20), cached by content under .cache/heads/validation/<recipe>, then scores the
validation clips alone (as render), in one-speaker talks, and packed by speaker (w = 1, k = 20 s).
This is where the training recipe of head v3 was chosen (MODEL_CARD.md).

    python benchmarks/validation_recipes.py --data ../shared/data packed mix self-centred
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import product_path as bench  # noqa: E402

from sentimentogram_cli.emotion.features import AudioEncoder, TextEncoder  # noqa: E402
from sentimentogram_cli.emotion.head import EmotionHead  # noqa: E402
from sentimentogram_cli.training.alone import alone_frames, product_sample  # noqa: E402
from sentimentogram_cli.training.product_path import ProductPath  # noqa: E402
from sentimentogram_cli.training.report import TEST_SPEAKERS, VALIDATION_SPEAKERS  # noqa: E402
from sentimentogram_cli.training.train import cached_train_head  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="+", choices=sorted(bench.RECIPES))
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache/features"))
    parser.add_argument("--heads", type=Path, default=Path(".cache/heads/validation"))
    parser.add_argument("--no-talks", action="store_true")
    args = parser.parse_args()
    data = bench.audio_data(args.data, args.cache)
    clips = data.clips
    held = VALIDATION_SPEAKERS | TEST_SPEAKERS
    sample = product_sample(clips, VALIDATION_SPEAKERS, TEST_SPEAKERS)
    encoder = AudioEncoder()
    alone = alone_frames(clips, sample, encoder, args.cache)
    data.alone = {i: alone[i] for i in sample if clips[i].speaker not in held}
    text_encoder = TextEncoder(delta=TextEncoder.check_identity(EmotionHead.load().metadata.text_encoder))
    train = [i for i, c in enumerate(clips) if c.speaker not in held]
    validation = [i for i in sample if clips[i].speaker in VALIDATION_SPEAKERS]
    print("| recipe | corpus | clips alone | talks | packed-speaker |\n|---|---|---|---|---|")
    for recipe in args.recipes:
        head = bench.with_weight(cached_train_head(data, train, bench.RECIPES[recipe], args.heads / recipe), 1.0, 20.0)
        path = ProductPath(head, encoder, text_encoder, args.cache)
        path.alone = alone
        for corpus in ("ravdess", "ased"):
            row = bench.three_ways(head, data, path, [i for i in validation if clips[i].corpus == corpus], False,
                                   not args.no_talks)
            talks = f"{row['talks']['ua']:.1%}" if "talks" in row else "—"
            print(f"| {recipe} | {corpus} | {row['alone']['ua']:.1%} | {talks} | {row['packed']['ua']:.1%} |", flush=True)


if __name__ == "__main__":
    main()
