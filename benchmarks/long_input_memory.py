#!/usr/bin/env python
"""Peak memory and wall time of rendering long inputs, made by looping the bundled example.

    python benchmarks/long_input_memory.py                      # 2 and 30 minutes, the default models
    python benchmarks/long_input_memory.py --minutes 2 8 --asr-model tiny.en   # a quick check
    python benchmarks/long_input_memory.py --minutes 60 --head my_head.safetensors
    python benchmarks/long_input_memory.py --minutes 2 30 --render-arg=--speakers --render-arg=off
    python benchmarks/long_input_memory.py --minutes 2 10 --checkout /tmp/older   # another version's render

With two or more lengths it also prints how much the peak grows per minute of media between the
shortest and the longest (issue 25's target: at most 3 MB a minute between 2 and 30 minutes).

The input is the example repeated with ffmpeg's ``-stream_loop`` (streams copied, so building it
takes seconds). The render runs as a child process, the real command line with ``--no-cache``, in
a wrapper that samples its resident memory every 20 ms: the peak of each stage (the stage that
last started; the emotion encoders also load on a thread during decode and transcription) and of
the whole process (``ru_maxrss``), so what grows with the input shows stage by stage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# Runs the command line given (render ...) in this process, samples the resident memory, and
# prints the peak per stage and the process's ru_maxrss (MiB) as JSON, last on stderr.
_STAGE_PEAKS = """
import json, os, resource, sys, threading, time
from sentimentogram_cli import analysis_options
current, peaks, page = ["start"], {}, os.sysconf("SC_PAGE_SIZE")
timer_call = analysis_options.StageTimer.__call__
def call(self, stage, fraction):
    if fraction == 0.0:
        current[0] = stage
    return timer_call(self, stage, fraction)
analysis_options.StageTimer.__call__ = call
def sample():
    while True:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * page / 2**20
        peaks[current[0]] = max(peaks.get(current[0], 0.0), rss)
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
from sentimentogram_cli.cli import main
code = main(sys.argv[1:])
print("stage_peaks", json.dumps({"stages": {k: round(v, 1) for k, v in peaks.items()},
      "max": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}), file=sys.stderr)
sys.exit(code)
"""


def default_source() -> Path:
    for pattern in ("ravdess_actor*.mp4", "*.mp4", "jfk.flac"):
        found = sorted(EXAMPLES.glob(pattern))
        if found:
            return found[0]
    raise SystemExit(f"no example to loop in {EXAMPLES}: pass --source")


def build_input(source: Path, minutes: float, folder: Path) -> Path:
    target = folder / f"long_{minutes:g}min{source.suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", "-stream_loop", "-1", "-i", str(source),
                    "-t", f"{minutes * 60:.3f}", "-c", "copy", str(target)], check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[2.0, 30.0],
                        help="length(s) of the input, one render each (default 2 30)")
    parser.add_argument("--source", type=Path, help="what to loop (default: the example video)")
    parser.add_argument("--asr-model", default="base", help="as render's --asr-model (default base)")
    parser.add_argument("--head", type=Path, help="as render's --head (default: the shipped head)")
    parser.add_argument("--device", default="cpu", help="as render's --device (default cpu)")
    parser.add_argument("--work", type=Path, help="folder for the input and outputs (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--render-arg", action="append", default=[], help="one more argument for render (repeat it)")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="render with this checkout's code (e.g. an older commit, for a before/after)")
    args = parser.parse_args()
    rows = [measure(args, minutes) for minutes in args.minutes]
    if len(rows) > 1:
        a, b = min(rows, key=lambda r: r["minutes"]), max(rows, key=lambda r: r["minutes"])
        slope = (b["peak_rss_mib"] - a["peak_rss_mib"]) * 2**20 / 1e6 / (b["minutes"] - a["minutes"])
        print("\n| media (min) | peak RSS (MiB) | wall (s) | × real time |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['minutes']:g} | {r['peak_rss_mib']:.0f} | {r['wall_s']:.1f} | {r['realtime_factor']:.3f} |")
        stages = list(dict.fromkeys(k for r in rows for k in r["stage_peaks_mib"]))
        print("\n| media (min) | " + " | ".join(f"{k} peak (MiB)" for k in stages) + " |\n|---|"
              + "---|" * len(stages))
        for r in rows:
            print(f"| {r['minutes']:g} | " + " | ".join(f"{r['stage_peaks_mib'].get(k, 0):.0f}" for k in stages) + " |")
        print(f"\npeak RSS grows {slope:.2f} MB per minute of media from {a['minutes']:g} to {b['minutes']:g} minutes "
              f"(target ≤ 3); models: {args.asr_model} words; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


def measure(args, minutes: float) -> dict:
    """One render of the example looped to ``minutes``, as a child process: its figures."""

    source = (args.source or default_source()).resolve()
    with tempfile.TemporaryDirectory(prefix="sentimentogram-long-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        long_input = build_input(source, minutes, work)
        command = ["render", str(long_input), "--out", str(work),
                   "--no-cache", "--force", "--asr-model", args.asr_model, "--device", args.device]
        if args.head:
            command += ["--head", str(args.head)]
        command += args.render_arg
        root = args.checkout.resolve()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _STAGE_PEAKS, *command], env=env, capture_output=True,
                              text=True, cwd=root)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-2000:])
            raise SystemExit(f"render failed with exit code {done.returncode}")
        peaks = json.loads(done.stderr.strip().splitlines()[-1].split(maxsplit=1)[1])
        figures = {"minutes": minutes, "source": source.name, "asr_model": args.asr_model, "checkout": str(root),
                   "device": args.device, "peak_rss_mib": peaks["max"], "stage_peaks_mib": peaks["stages"],
                   "wall_s": round(wall, 1),
                   "realtime_factor": round(wall / (minutes * 60), 3),
                   "page_mib": round((work / f"{long_input.stem}.html").stat().st_size / 2**20, 1)}
    print(f"input        {minutes:g} min of {source.name} (looped)")
    print(f"peak RSS     {figures['peak_rss_mib']:.0f} MiB (the render process); by stage: "
          + " · ".join(f"{k} {v:.0f}" for k, v in figures["stage_peaks_mib"].items()))
    print(f"wall         {figures['wall_s']:.1f} s ({figures['realtime_factor']:.3f}× real time)")
    print(f"page         {figures['page_mib']:.1f} MiB")
    for line in done.stdout.splitlines():
        if line.startswith(("time", "words")):
            print(line.rstrip())
    return figures


if __name__ == "__main__":
    main()
