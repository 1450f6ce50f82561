#!/usr/bin/env python
"""Peak memory and wall time of rendering one long input, made by looping the bundled example.

    python benchmarks/long_input_memory.py                      # 60 minutes, the default models
    python benchmarks/long_input_memory.py --minutes 2          # a quick check
    python benchmarks/long_input_memory.py --minutes 10 --asr-model tiny.en --head my_head.safetensors

The input is the example repeated with ffmpeg's ``-stream_loop`` (streams copied, so building it
takes seconds). The render runs as a child process, the real command line with ``--no-cache``;
its peak resident memory is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` once it has exited (the
largest of the finished children: the render, not the ffmpeg that built the input).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


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
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the input (default 60)")
    parser.add_argument("--source", type=Path, help="what to loop (default: the example video)")
    parser.add_argument("--asr-model", default="base", help="as render's --asr-model (default base)")
    parser.add_argument("--head", type=Path, help="as render's --head (default: the shipped head)")
    parser.add_argument("--device", default="cpu", help="as render's --device (default cpu)")
    parser.add_argument("--work", type=Path, help="folder for the input and outputs (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()

    source = (args.source or default_source()).resolve()
    with tempfile.TemporaryDirectory(prefix="sentimentogram-long-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        long_input = build_input(source, args.minutes, work)
        command = [sys.executable, "-m", "sentimentogram_cli", "render", str(long_input), "--out", str(work),
                   "--no-cache", "--force", "--asr-model", args.asr_model, "--device", args.device]
        if args.head:
            command += ["--head", str(args.head)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-2000:])
            raise SystemExit(f"render failed with exit code {done.returncode}")
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        figures = {"minutes": args.minutes, "source": source.name, "asr_model": args.asr_model,
                   "device": args.device, "peak_rss_mib": round(peak_mib, 1), "wall_s": round(wall, 1),
                   "realtime_factor": round(wall / (args.minutes * 60), 3),
                   "page_mib": round((work / f"{long_input.stem}.html").stat().st_size / 2**20, 1)}
    print(f"input        {args.minutes:g} min of {source.name} (looped)")
    print(f"peak RSS     {figures['peak_rss_mib']:.0f} MiB (the render process)")
    print(f"wall         {figures['wall_s']:.1f} s ({figures['realtime_factor']:.3f}× real time)")
    print(f"page         {figures['page_mib']:.1f} MiB")
    for line in done.stdout.splitlines():
        if line.startswith(("time", "words")):
            print(line.rstrip())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
