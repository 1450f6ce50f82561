#!/usr/bin/env python
"""Batch throughput: seconds of media rendered per wall-clock second for one folder, rendered by
the local batch (one process, one input at a time) and by ``render --ray`` with 1 and 2 workers;
every Ray run's analysis documents compared byte for byte with the local run's.

    python benchmarks/batch_throughput.py                       # 8 RAVDESS clips, Whisper base, CPU
    python benchmarks/batch_throughput.py --clips 16 --workers 1,2,4 --json throughput.json
    python benchmarks/batch_throughput.py --folder talks/ --ray auto   # a folder of yours, on a cluster

Each run is the real command line as a child process with a fresh analysis cache and its own
output folder (``--format json``), timed from start to exit (model loading and Ray's start-up
included). Results depend on the thread count of each model process (CTranslate2 and torch sum
in a different order), so the documents are compared with a local run made with the same threads
per process (``OMP_NUM_THREADS``) as the Ray workers, and with the default local run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAVDESS = ROOT.parent / "shared/data/emotional_speech/ravdess"
sys.path.insert(0, str(ROOT))

from sentimentogram_cli import probe  # noqa: E402
from sentimentogram_cli.batch import discover_inputs  # noqa: E402
from sentimentogram_cli.distributed import plan_workers  # noqa: E402


def gather_clips(n: int, folder: Path) -> Path:
    """``n`` RAVDESS clips (two per actor, over actors), else the bundled examples, copied to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = [c for actor in sorted(RAVDESS.glob("Actor_*")) for c in sorted(actor.glob("*.opus"))[:2]][:n]
    if not clips:
        clips = sorted((ROOT / "examples").glob("*.mp4")) + sorted((ROOT / "examples").glob("*.flac"))
    for clip in clips:
        shutil.copy2(clip, folder / clip.name)
    return folder


def run(folder: Path, out: Path, common: list[str], extra: list[str] = (), threads: int | None = None) -> dict:
    """One render of the whole folder as a child process: wall seconds, exit code."""
    out.mkdir(parents=True)
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    command = [sys.executable, "-m", "sentimentogram_cli", "render", str(folder), *common, "--format", "json",
               "--out", str(out), "--cache-dir", str(out.parent / f"{out.name}-cache"), *extra]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-2000:] + done.stderr[-2000:], file=sys.stderr)
    return {"wall": wall, "exit": done.returncode, "out": out}


def identical(a: Path, b: Path) -> tuple[int, int]:
    """How many of ``a``'s documents ``b`` has with the same bytes, of how many."""
    docs = sorted(a.glob("*.json"))
    return sum((b / d.name).is_file() and (b / d.name).read_bytes() == d.read_bytes() for d in docs), len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="inputs to render (default: --clips RAVDESS clips)")
    parser.add_argument("--clips", type=int, default=8, help="how many RAVDESS clips (default 8)")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to try (default 1,2)")
    parser.add_argument("--ray", default="local", help="Ray address (default: a local Ray on this machine)")
    parser.add_argument("--asr-model", default="base", help="as render's --asr-model (default base)")
    parser.add_argument("--device", default="cpu", help="as render's --device (default cpu)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()

    common = ["--asr-model", args.asr_model, "--device", args.device]
    counts = [int(w) for w in args.workers.split(",")]
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="sentimentogram-throughput-") as scratch:
        scratch = Path(scratch)
        folder = args.folder.resolve() if args.folder else gather_clips(args.clips, scratch / "inputs")
        inputs = [i.path for i in discover_inputs([str(folder)]) if i.path is not None]
        media = sum(probe(p).duration for p in inputs)
        print(f"{len(inputs)} inputs, {media:.1f} s of media, {cpus} CPUs", file=sys.stderr)

        rows = [("local, sequential", "1 × default", run(folder, scratch / "local", common), None)]
        plans = {w: plan_workers([cpus], [0], "cpu", w) if args.ray == "local" and args.device == "cpu" else None
                 for w in counts}
        references = {}
        for w in counts:
            threads = plans[w].cpus if plans[w] else None
            if threads and threads not in references:  # the local run with the workers' threads
                references[threads] = run(folder, scratch / f"local-{threads}t", common, threads=threads)
                rows.append((f"local, sequential, {threads} thread{'s' * (threads > 1)}", f"1 × {threads}",
                             references[threads], None))
            label = f"{w} × {threads}" if threads else f"{w} × ?"
            result = run(folder, scratch / f"ray-{w}", common, ["--ray", args.ray, "--workers", str(w)])
            rows.append((f"--ray, {w} worker{'s' * (w > 1)}", label, result, references.get(threads)))

        base = rows[0][2]
        figures = []
        print("| run | workers × threads | wall (s) | media s per wall s | vs local | same JSON as local "
              "(same threads) | same JSON as local (default) |")
        print("|---|---|---|---|---|---|---|")
        for name, shape, result, reference in rows:
            same_default = "%d/%d" % identical(base["out"], result["out"]) if result is not base else "—"
            same_threads = "%d/%d" % identical(reference["out"], result["out"]) if reference else "—"
            rate = media / result["wall"]
            print(f"| {name} | {shape} | {result['wall']:.1f} | {rate:.2f} | {base['wall'] / result['wall']:.2f}× "
                  f"| {same_threads} | {same_default} |" + ("" if result["exit"] == 0 else f" exit {result['exit']}"))
            figures.append({"run": name, "shape": shape, "wall_s": round(result["wall"], 2),
                            "media_s_per_wall_s": round(rate, 3), "exit": result["exit"],
                            "same_json_same_threads": same_threads, "same_json_default": same_default})
        if args.json:
            args.json.write_text(json.dumps({"inputs": len(inputs), "media_s": round(media, 2), "cpus": cpus,
                                             "asr_model": args.asr_model, "device": args.device,
                                             "runs": figures}, indent=1) + "\n")


if __name__ == "__main__":
    main()
