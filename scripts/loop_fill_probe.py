"""Research probe (issue 24): does a short clip read better when its 30 s encoder chunk is filled
by the clip repeated instead of zeros (render before issue 24's change) or of nothing (render now:
the clip encoded at its own length)? Validation speakers only (RAVDESS 13-16 by default), the
shipped head, audio only, the product path's windows and clip score otherwise unchanged.

    python scripts/loop_fill_probe.py --data ../shared/data [--speakers ravdess-13 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentimentogram_cli.constants import CHUNK_SAMPLES  # noqa: E402
from sentimentogram_cli.emotion.features import AudioEncoder, TextEncoder  # noqa: E402
from sentimentogram_cli.emotion.head import EmotionHead  # noqa: E402
from sentimentogram_cli.emotion.recognise import recognise_frames, recording_centre  # noqa: E402
from sentimentogram_cli.training.alone import alone_frames, render_audio  # noqa: E402
from sentimentogram_cli.training.corpora import read_clips  # noqa: E402
from sentimentogram_cli.training.evaluation import score  # noqa: E402
from sentimentogram_cli.training.product_path import ProductPath, clip_score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache/features"))
    parser.add_argument("--speakers", nargs="*", default=[f"ravdess-{a}" for a in (13, 14, 15, 16)])
    args = parser.parse_args()
    clips = read_clips(args.data / "emotional_speech" / "labels.csv")
    idx = [i for i, c in enumerate(clips) if c.speaker in set(args.speakers)]
    head = EmotionHead.load()
    encoder = AudioEncoder(layers=head.metadata.audio_layers)
    path = ProductPath(head, encoder, TextEncoder.for_head(head.metadata.text_encoder), args.cache)
    labels = [clips[i].label for i in idx]
    padded = path.clips(clips, idx, use_text=False).probabilities
    looped = []
    cached = alone_frames(clips, idx, encoder, args.cache)
    for i in idx:
        audio = render_audio(clips[i].path)
        filled = np.resize(audio, CHUNK_SAMPLES) if len(audio) < CHUNK_SAMPLES else audio
        frames = encoder.encode(filled)[: len(cached[i])].astype(np.float16)
        segments, _ = path._segments(clips[i], audio, use_text=False)
        lines = recognise_frames(frames, recording_centre(frames, head), len(audio), segments, head,
                                 path.text_encoder, language="-")
        looped.append(clip_score(lines, list(head.labels))[0])
    for name, probs in (("own length (render today)", padded), ("clip repeated to 30 s", np.array(looped))):
        result = score(head, probs, labels)
        print(f"{name}: UA {result['ua']:.1%} (n={len(labels)})")


if __name__ == "__main__":
    main()
