"""Whole-process render time against faster-whisper alone, on a talk of two minutes or more.

    python benchmarks/render_vs_whisper.py              # the three 0.8 s-pause talks of word_accuracy.py joined
    python benchmarks/render_vs_whisper.py --repeats 3

Two child processes per repeat, alternating which goes first: ``sentimentogram render TALK.wav
--format json`` (no cache, so every model runs), and a Python process that loads the same Whisper
model the same way (``assets.load_whisper``) and runs faster-whisper on the file as its user
would, with the settings the render's first pass uses (``transcribe.DecodeOptions``: word
timestamps, VAD filter, beam, temperatures, prompt). Each side is timed from process start to
exit (imports, model loading, decoding, writing), which is what a user waits for. The ratio is
the median of the per-repeat ratios. Target (issue 11): render / faster-whisper alone ≤ 1.25.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

ALONE = """
import json, sys, time
from sentimentogram_cli.assets import load_whisper
from sentimentogram_cli.transcribe import DecodeOptions
options = DecodeOptions()
model = load_whisper(sys.argv[2], "cpu")
segments, info = model.transcribe(sys.argv[1], word_timestamps=True, vad_filter=True,
                                  vad_parameters=options.vad_parameters(), **options.whisper_kwargs())
words = sum(len(s.words or []) for s in segments)
print(json.dumps({"words": words, "language": info.language}))
"""


def _timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--asr-model", default="base")
    args = parser.parse_args(argv)

    import soundfile
    from word_accuracy import build_talk, _labels, talk_plan

    from sentimentogram_cli.constants import SAMPLE_RATE
    from sentimentogram_cli.media import decode_audio

    labels = _labels()
    plan = [p for p in talk_plan(False) if p[1] == 0.8]
    talks = [build_talk(n, p, o, i, labels, decode_audio) for i, (n, p, o) in enumerate(plan)]
    gap = np.zeros(int(0.8 * SAMPLE_RATE), np.float32)
    audio = np.concatenate([x for t in talks for x in (t.audio, gap)][:-1])
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        talk = Path(tmp) / "talk.wav"
        soundfile.write(talk, audio, SAMPLE_RATE, subtype="PCM_16")
        render = [python, "-m", "sentimentogram_cli", "render", str(talk), "--format", "json", "--no-cache",
                  "--asr-model", args.asr_model, "--out", str(Path(tmp) / "out")]
        alone = [python, "-c", ALONE, str(talk), args.asr_model]
        ratios, rows = [], []
        for r in range(args.repeats):
            order = [("render", render), ("alone", alone)]
            times = {}
            for name, cmd in (order if r % 2 == 0 else order[::-1]):
                times[name], out = _timed(cmd)
                if name == "alone":
                    times["alone_words"] = json.loads(out.strip().splitlines()[-1])["words"]
            doc = json.loads((Path(tmp) / "out.json").read_text())
            times["render_words"] = sum(len(line["words"]) for line in doc["lines"])
            ratios.append(times["render"] / times["alone"])
            rows.append(times)
            print(f"repeat {r + 1}: render {times['render']:.1f} s ({times['render_words']} words), faster-whisper "
                  f"alone {times['alone']:.1f} s ({times['alone_words']} words), ratio {ratios[-1]:.2f}", flush=True)
    media = len(audio) / SAMPLE_RATE
    print(f"\n| talk (s) | render, whole process (s) | faster-whisper alone, whole process (s) | "
          f"render / faster-whisper (target ≤ 1.25) |\n|---|---|---|---|\n"
          f"| {media:.0f} | {statistics.median(r['render'] for r in rows):.1f} | "
          f"{statistics.median(r['alone'] for r in rows):.1f} | {statistics.median(ratios):.2f} |")


if __name__ == "__main__":
    main()
