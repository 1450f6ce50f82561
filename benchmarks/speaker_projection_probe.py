"""Can one short clip be freed of its speaker? A linear probe on clips encoded alone, leave one corpus out.

Why: on the product path a 3 s clip is centred mostly on the training mean (the shipped head's
w·s/(s+k), ``emotion.recognise.recording_weight``),
and a corpus the head never heard scores 10-13 points under the same clips centred on their
speaker (benchmarks/product_path.py: alone against packed-speaker). Two questions, answered with
a softmax regression on each clip's mean and standard deviation of its layer-1-4 frames (the
probe of ``training.probe``; seconds, not a head's training):
- nuisance attribute projection (NAP, as in speaker and language recognition): remove the top k
  directions along which the training speakers' mean frames differ, before pooling. Does that
  make a clip of a new corpus easier to read?
- the oracle: the same clips centred on their own speaker's mean over the sample (what
  packed-speaker knows and render does not): how much is there to gain at all?

Clips: ``training.alone.product_sample`` (render's frames, cached under .cache/features/alone);
the probe trains on the other corpora's non-held-out speakers and scores the left-out corpus, UA
over the labels it has.

    python benchmarks/speaker_projection_probe.py --data ../shared/data --k 0 4 8 16 32 64
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentimentogram_cli.constants import EMOTIONS, HEAD_FRAMES_PER_SECOND  # noqa: E402
from sentimentogram_cli.emotion.features import AudioEncoder  # noqa: E402
from sentimentogram_cli.emotion.head import EmotionHead  # noqa: E402
from sentimentogram_cli.emotion.recognise import recording_weight  # noqa: E402
from sentimentogram_cli.training.alone import alone_frames, product_sample  # noqa: E402
from sentimentogram_cli.training.corpora import read_clips  # noqa: E402
from sentimentogram_cli.training.probe import probe_ua  # noqa: E402
from sentimentogram_cli.training.report import CORPORA, TEST_SPEAKERS, VALIDATION_SPEAKERS  # noqa: E402

def pooled(frames: np.ndarray) -> np.ndarray:
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache/features"))
    parser.add_argument("--k", type=int, nargs="*", default=[0, 4, 8, 16, 32, 64], help="speaker directions removed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    shipped = EmotionHead.load()  # its shrinkage of a recording's own mean, as render centres a clip

    clips = read_clips(args.data / "emotional_speech" / "labels.csv")
    sample = product_sample(clips, VALIDATION_SPEAKERS, TEST_SPEAKERS)
    alone = alone_frames(clips, sample, AudioEncoder(), args.cache)
    held = VALIDATION_SPEAKERS | TEST_SPEAKERS
    y_of = {i: EMOTIONS.index(clips[i].label) for i in sample}
    table: dict[str, dict[str, float]] = {**{f"NAP k = {k}": {} for k in args.k}, "oracle: speaker-centred": {}}
    for corpus in CORPORA:
        train = [i for i in sample if clips[i].corpus != corpus and clips[i].speaker not in held]
        test = [i for i in sample if clips[i].corpus == corpus]
        stacked = np.concatenate([alone[i].astype(np.float32) for i in train])
        mean, std = stacked.mean(axis=0), stacked.std(axis=0) + 1e-5
        del stacked

        def normalised(i: int, centre: np.ndarray | None = None) -> np.ndarray:
            f = alone[i].astype(np.float32)
            w = recording_weight(shipped, len(f) / HEAD_FRAMES_PER_SECOND)
            return (f - ((1 - w) * mean + w * f.mean(axis=0) if centre is None else centre)) / std

        frames = {i: normalised(i) for i in train + test}
        by_speaker: dict[str, list[np.ndarray]] = {}
        for i in train:
            by_speaker.setdefault(clips[i].speaker, []).append(frames[i].mean(axis=0))
        speaker_means = np.stack([np.mean(v, axis=0) for v in by_speaker.values()])
        _, _, directions = np.linalg.svd(speaker_means - speaker_means.mean(axis=0), full_matrices=False)
        y_train, y_test = np.array([y_of[i] for i in train]), np.array([y_of[i] for i in test])
        for k in args.k:
            u = directions[:k].T

            def project(f: np.ndarray) -> np.ndarray:
                return f - (f @ u) @ u.T if k else f

            x_train = np.stack([pooled(project(frames[i])) for i in train]).astype(np.float32)
            x_test = np.stack([pooled(project(frames[i])) for i in test]).astype(np.float32)
            table[f"NAP k = {k}"][corpus] = probe_ua(x_train, y_train, x_test, y_test, len(EMOTIONS))
        own: dict[str, list[np.ndarray]] = {}
        for i in test:
            own.setdefault(clips[i].speaker, []).append(alone[i].astype(np.float32).mean(axis=0))
        x_train = np.stack([pooled(frames[i]) for i in train]).astype(np.float32)
        x_test = np.stack([pooled(normalised(i, np.mean(own[clips[i].speaker], axis=0))) for i in test]).astype(np.float32)
        table["oracle: speaker-centred"][corpus] = probe_ua(x_train, y_train, x_test, y_test, len(EMOTIONS))
        print(corpus, {name: f"{row[corpus]:.1%}" for name, row in table.items()}, flush=True)

    print("\n| probe, clips alone | " + " | ".join(CORPORA) + " | mean |")
    print("|---" * (len(CORPORA) + 2) + "|")
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.1%}" for c in CORPORA) + f" | {np.mean(list(row.values())):.1%} |")


if __name__ == "__main__":
    main()
