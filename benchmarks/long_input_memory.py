#!/usr/bin/env python
"""Peak memory and wall time of rendering long inputs, made by looping the bundled example.

    python benchmarks/long_input_memory.py                      # 2 and 30 minutes, the default models
    python benchmarks/long_input_memory.py --minutes 2 8 --asr-model tiny.en   # a quick check
    python benchmarks/long_input_memory.py --minutes 60 --head my_head.safetensors
    python benchmarks/long_input_memory.py --minutes 2 30 --render-arg=--speakers --render-arg=off

With two or more lengths it also prints how much the peak grows per minute of media between the
shortest and the longest (issue 25's target: at most 3 MB a minute between 2 and 30 minutes).

The input is the example repeated with ffmpeg's ``-stream_loop`` (streams copied, so building it
takes seconds). The render runs as a child process, the real command line with ``--no-cache``;
its peak resident memory is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` once it has exited, taken in
a fresh parent process per render (so it is that render's, not the ffmpeg that built the input).
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
# Runs its arguments as a child and prints the child's peak resident memory (KiB) last on stderr.
_PEAK = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
         "print('peak_rss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
         "sys.exit(code)")


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
    args = parser.parse_args()
    rows = [measure(args, minutes) for minutes in args.minutes]
    if len(rows) > 1:
        a, b = min(rows, key=lambda r: r["minutes"]), max(rows, key=lambda r: r["minutes"])
        slope = (b["peak_rss_mib"] - a["peak_rss_mib"]) * 2**20 / 1e6 / (b["minutes"] - a["minutes"])
        print("\n| media (min) | peak RSS (MiB) | wall (s) | × real time |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['minutes']:g} | {r['peak_rss_mib']:.0f} | {r['wall_s']:.1f} | {r['realtime_factor']:.3f} |")
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
        command = [sys.executable, "-m", "sentimentogram_cli", "render", str(long_input), "--out", str(work),
                   "--no-cache", "--force", "--asr-model", args.asr_model, "--device", args.device]
        if args.head:
            command += ["--head", str(args.head)]
        command += args.render_arg
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        started = time.perf_counter()
        # A fresh parent per render, so its children's ru_maxrss is this render's alone.
        done = subprocess.run([sys.executable, "-c", _PEAK, *command], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-2000:])
            raise SystemExit(f"render failed with exit code {done.returncode}")
        peak_mib = int(done.stderr.strip().splitlines()[-1].split()[-1]) / 1024  # ru_maxrss: KiB on Linux
        figures = {"minutes": minutes, "source": source.name, "asr_model": args.asr_model,
                   "device": args.device, "peak_rss_mib": round(peak_mib, 1), "wall_s": round(wall, 1),
                   "realtime_factor": round(wall / (minutes * 60), 3),
                   "page_mib": round((work / f"{long_input.stem}.html").stat().st_size / 2**20, 1)}
    print(f"input        {minutes:g} min of {source.name} (looped)")
    print(f"peak RSS     {figures['peak_rss_mib']:.0f} MiB (the render process)")
    print(f"wall         {figures['wall_s']:.1f} s ({figures['realtime_factor']:.3f}× real time)")
    print(f"page         {figures['page_mib']:.1f} MiB")
    for line in done.stdout.splitlines():
        if line.startswith(("time", "words")):
            print(line.rstrip())
    return figures


if __name__ == "__main__":
    main()
