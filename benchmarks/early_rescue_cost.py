"""What the early second pass (``decoding.EarlyRescue``) costs the decoding's thread as segments
come: ``heard`` is called once per segment, so its work must stay linear in the input's length.

    python benchmarks/early_rescue_cost.py                 # a 3-hour input: 3,000 segments
    python benchmarks/early_rescue_cost.py --segments 600

A synthetic first pass: a segment every 3.6 s with 10 words, one speech stretch under each (so
every stretch is covered and nothing is decoded: the figure is ``heard``'s own bookkeeping, with
the render's guards deciding what would be dropped). Prints the CPU seconds of all the calls.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402
from sentimentogram_cli.document import Word  # noqa: E402
from sentimentogram_cli.transcription.decoding import DecodeOptions, RawSegment  # noqa: E402
from sentimentogram_cli.transcription.speech import FRAME_SECONDS, Envelope  # noqa: E402
from sentimentogram_cli.transcription.transcribe import _early_rescue  # noqa: E402


class _TwoWorkers:  # what _early_rescue reads of a recogniser; nothing is decoded here
    class model:
        num_workers = 2


class _Length:  # what EarlyRescue reads of the audio (3 hours of samples would be 690 MB)
    def __init__(self, seconds: float):
        self.samples = int(seconds * SAMPLE_RATE)

    def __len__(self) -> int:
        return self.samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=3000)
    args = parser.parse_args()
    segments, stretches = [], []
    for i in range(args.segments):
        t = i * 3.6
        words = [Word(f" w{i}-{k}", t + 0.3 * k, t + 0.3 * k + 0.2, 0.9) for k in range(10)]
        segments.append(RawSegment("".join(w.text for w in words), t, t + 3.0, words))
        stretches.append((t + 0.1, t + 2.9))
    seconds = args.segments * 3.6
    env = Envelope(np.ones(int(seconds / FRAME_SECONDS) + 1, bool))  # speech everywhere
    so_far: list[RawSegment] = []
    with _early_rescue(_TwoWorkers(), _Length(seconds), env, stretches, "en", DecodeOptions()) as early:
        start = time.process_time()
        for segment in segments:
            so_far.append(segment)
            early.heard(so_far)
        cpu = time.process_time() - start
    print(f"{args.segments} segments ({seconds / 3600:.1f} h): heard took {cpu:.2f} CPU s in all, "
          f"{len(early.started)} stretches started")


if __name__ == "__main__":
    main()
