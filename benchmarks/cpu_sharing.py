"""Each of the render's CPU settings, on and off: whole renders of a talk (wall and CPU seconds,
page faults).

    python benchmarks/cpu_sharing.py                 # the 307 s talk, 2 repeats of each variant
    python benchmarks/cpu_sharing.py --talk 3 --repeats 3

Variants, each a child process running ``sentimentogram render TALK.wav --format json --no-cache``
with some settings put back to what they were before (in the child, before the render starts),
each one adding a change to the one before:

- **none**: CTranslate2's default threads per decode (4) and torch's (one per core) beside it,
  glibc's default heap, the second pass after the first;
- **threads**: the cores split (``devices.recogniser_threads`` for the decoding,
  ``devices.threads_beside`` for the emotion frames);
- **heap**: and the heap tuned (``heap.tune_heap``);
- **early** (as shipped): and the second pass begun beside the first (``decoding.EarlyRescue``).

The variants alternate (the order flips every repeat); figures are medians. The words of every
render are counted, so a variant that changes what is found is seen.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CHILD = """
import contextlib, sys
from sentimentogram_cli import analyser, analyser_models, assets
from sentimentogram_cli.cli import main
from sentimentogram_cli.transcription import transcribe
variant = sys.argv[1]
if variant in ("none", "threads", "heap"):
    transcribe._early_rescue = lambda *args: contextlib.nullcontext()  # the second pass after the first
if variant in ("none", "threads"):
    analyser_models.tune_heap = lambda: False  # glibc's defaults
if variant == "none":
    assets.recogniser_threads = lambda cores=None: 0  # CTranslate2's own default (4)
    analyser.threads_beside = lambda cores=None: None  # torch's own default (one per core)
sys.exit(int(main(["render", sys.argv[2], "--format", "json", "--no-cache", "--out", sys.argv[3]])))
"""
VARIANTS = ("none", "threads", "heap", "early")


def run(variant: str, talk: Path, out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, variant, str(talk), str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{variant} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    doc = json.loads(out.with_suffix(".json").read_text())
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "system": after.ru_stime - before.ru_stime, "faults_k": (after.ru_minflt - before.ru_minflt) / 1000,
            "words": sum(len(line["words"]) for line in doc["lines"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--talk", type=int, default=7, help="how many of word_accuracy.py's talks are joined "
                        "(7: 307 s; 3: 111 s)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from render_vs_whisper import build_talk_file

    tmp = Path(tempfile.mkdtemp(prefix="cpu-sharing-"))
    talk, media = build_talk_file(args.talk, tmp)
    rows: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    load = [os.getloadavg()[0]]
    for r in range(args.repeats):
        for variant in (VARIANTS if r % 2 == 0 else VARIANTS[::-1]):
            row = run(variant, talk, tmp / talk.stem)
            rows[variant].append(row)
            print(f"repeat {r + 1} {variant}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()), file=sys.stderr,
                  flush=True)
    load.append(os.getloadavg()[0])
    med = {v: {k: statistics.median(row[k] for row in rows[v]) for k in rows[v][0]}
           for v in VARIANTS}
    print(f"\n{media:.0f} s talk, medians of {args.repeats} alternated renders (load average {load[0]:.1f} at "
          f"start, {load[1]:.1f} at end)\n")
    print("| variant | wall (s) | CPU (s) | of which system | page faults (k) | words | wall against none |")
    print("|---|---|---|---|---|---|---|")
    for v in VARIANTS:
        m = med[v]
        print(f"| {v} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['system']:.1f} | {m['faults_k']:.0f} | {m['words']:.0f} "
              f"| {m['wall'] / med['none']['wall']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"media_s": media, "rows": rows, "medians": med, "load": load}, indent=1))


if __name__ == "__main__":
    main()
