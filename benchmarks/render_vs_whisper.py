"""Whole-process render time against faster-whisper alone, on a talk of two minutes or more.

    python benchmarks/render_vs_whisper.py              # the seven talks of word_accuracy.py joined (5 min)
    python benchmarks/render_vs_whisper.py --repeats 3 --talks 3

Two child processes per repeat, alternating which goes first: ``sentimentogram render TALK.wav
--format json`` (no cache, so every model runs), and a Python process that loads the same Whisper
model the same way (``assets.load_whisper``) and runs faster-whisper on the file as its user
would, with the settings the render's first pass uses (``transcribe.DecodeOptions``: word
timestamps, VAD filter, beam, temperatures, prompt). Each side is timed from process start to
exit (imports, model loading, decoding, writing), which is what a user waits for, in wall seconds
and in CPU seconds (user + system of the child: steadier when other work shares the machine).
The ratio is the median of the per-repeat ratios. Target (issue 11): render / faster-whisper
alone ≤ 1.25.
"""

from __future__ import annotations

import argparse
import json
import os
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
from sentimentogram_cli.transcription.transcribe import DecodeOptions
options = DecodeOptions()
model = load_whisper(sys.argv[2], "cpu")
segments, info = model.transcribe(sys.argv[1], word_timestamps=True, vad_filter=True,
                                  vad_parameters=options.vad_parameters(), **options.whisper_kwargs())
words = sum(len(s.words or []) for s in segments)
print(json.dumps({"words": words, "language": info.language}))
"""


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child and its children, stdout)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--talks", type=int, default=7, help="how many of word_accuracy.py's talks to join")
    args = parser.parse_args(argv)

    import soundfile
    from word_accuracy import build_talk, _labels, talk_plan

    from sentimentogram_cli.constants import SAMPLE_RATE
    from sentimentogram_cli.media import decode_audio

    labels = _labels()
    plan = talk_plan(False)[: args.talks]
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
        ratios, cpu_ratios, rows = [], [], []
        load = os.getloadavg()
        for r in range(args.repeats):
            order = [("render", render), ("alone", alone)]
            times = {}
            for name, cmd in (order if r % 2 == 0 else order[::-1]):
                times[name], times[name + "_cpu"], out = _timed(cmd)
                if name == "alone":
                    times["alone_words"] = json.loads(out.strip().splitlines()[-1])["words"]
            doc = json.loads((Path(tmp) / "out.json").read_text())
            times["render_words"] = sum(len(line["words"]) for line in doc["lines"])
            ratios.append(times["render"] / times["alone"])
            cpu_ratios.append(times["render_cpu"] / times["alone_cpu"])
            rows.append(times)
            print(f"repeat {r + 1}: render {times['render']:.1f} s, {times['render_cpu']:.1f} CPU s "
                  f"({times['render_words']} words); faster-whisper alone {times['alone']:.1f} s, "
                  f"{times['alone_cpu']:.1f} CPU s ({times['alone_words']} words); ratio {ratios[-1]:.2f} wall, "
                  f"{cpu_ratios[-1]:.2f} CPU", flush=True)
    media = len(audio) / SAMPLE_RATE
    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    print(f"\n| talk (s) | render, whole process: wall · CPU (s) | faster-whisper alone: wall · CPU (s) | "
          f"render / faster-whisper, wall · CPU (target ≤ 1.25) |\n|---|---|---|---|\n"
          f"| {media:.0f} | {med('render'):.1f} · {med('render_cpu'):.1f} | {med('alone'):.1f} · {med('alone_cpu'):.1f} | "
          f"{statistics.median(ratios):.2f} · {statistics.median(cpu_ratios):.2f} |\n\n"
          f"load average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
