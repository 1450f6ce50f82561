"""Whole-process render time against faster-whisper alone: two talks and a batch of short clips.

    python benchmarks/render_vs_whisper.py                  # 2- and 5-minute talks, 48 clips, 1 repeat
    python benchmarks/render_vs_whisper.py --quick          # the 2-minute talk and 12 clips
    python benchmarks/render_vs_whisper.py --repeats 3 --json rvw.json
    python benchmarks/render_vs_whisper.py --quick --checkout /tmp/old   # another checkout's render

Inputs: the first three and all seven talks of ``word_accuracy.py`` joined (111 s and 307 s; the
first is the issue-25 talk), and 48 RAVDESS clips (2-4 s each, spread over the actors). Sides,
each its own child process, run alternately (the order flips every repeat):

- **render**: ``sentimentogram render TALK.wav --format json --no-cache`` (every model runs),
  whole process; its own stage timers are read from its summary (``time`` line).
- **faster-whisper, same decoding**: a process that loads the same Whisper model the same way
  (``assets.load_whisper``, with faster-whisper's one CTranslate2 worker where the render has
  ``assets.CPU_WORKERS``, and CTranslate2's default threads per decode, 4, as a user gets them)
  and runs ``WhisperModel.transcribe`` on the file with the settings of the render's first pass
  (``transcription.DecodeOptions``: word timestamps, VAD filter, beam, temperature, no prompt,
  hallucination-silence threshold).
- **faster-whisper, same decoding, tuned**: the same with the render's own CPU settings, which a
  user of faster-whisper could give it too: glibc's heap as ``heap.tune_heap`` sets it, and
  ``devices.recogniser_threads`` threads per decode (half the cores). The fair floor: what the
  render adds to a faster-whisper run as fast as ours.
- **faster-whisper defaults**: the same, with faster-whisper's default settings (word timestamps
  on, nothing else given): what a user gets who calls it plainly. Its defaults repeat themselves on
  these talks (see the words found), which also costs time.

Each side's words are counted, so a faster side that finds fewer words is seen. Times are wall
seconds from process start to exit (imports, model loading, decoding, writing: what a user waits
for) and CPU seconds (user + system of the child and its children: steadier on a shared machine).
Ratios are medians of the per-repeat ratios. The clips run as one process per side over all 48
files (models loaded once, as ``render FOLDER`` does): each clip's real-time factor is its own
wall time over its duration, the first clip's model loading reported apart.

Targets (issue 25): render / faster-whisper with the same decoding ≤ 1.3 on talks of 2 minutes or
more; short clips at a median of ≤ 1.0× real time and ≤ 2.0 at worst.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
RAVDESS = ROOT.parent / "shared" / "data" / "emotional_speech" / "ravdess"

ALONE = """
import json, sys
from sentimentogram_cli.assets import load_whisper
from sentimentogram_cli.heap import tune_heap
from sentimentogram_cli.transcription.transcribe import DecodeOptions
options = DecodeOptions()
if sys.argv[3] == "tuned":  # the render's CPU settings: its heap, its threads per decode
    tune_heap()
    model = load_whisper(sys.argv[2], "cpu", workers=1)
else:  # faster-whisper as a user loads it: one worker, CTranslate2's default threads
    model = load_whisper(sys.argv[2], "cpu", workers=1, threads=0)
if sys.argv[3] in ("same", "tuned"):
    kwargs = dict(vad_filter=True, vad_parameters=options.vad_parameters(), **options.whisper_kwargs())
else:
    kwargs = {}
segments, info = model.transcribe(sys.argv[1], word_timestamps=True, **kwargs)
words = sum(len(s.words or []) for s in segments)
print(json.dumps({"words": words, "language": info.language}))
"""

# One process over many clips, models loaded once: per clip, its wall and CPU seconds.
ALONE_CLIPS = """
import json, sys, time
from sentimentogram_cli.assets import load_whisper
from sentimentogram_cli.transcription.transcribe import DecodeOptions
t0 = time.perf_counter()
options = DecodeOptions()
model = load_whisper(sys.argv[2], "cpu", workers=1, threads=0)  # as a user loads it
load = time.perf_counter() - t0
rows = []
for path in json.loads(open(sys.argv[1]).read()):
    t, c = time.perf_counter(), time.process_time()
    segments, info = model.transcribe(path, word_timestamps=True, vad_filter=True,
                                      vad_parameters=options.vad_parameters(), **options.whisper_kwargs())
    words = sum(len(s.words or []) for s in segments)
    rows.append({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "words": words})
print(json.dumps({"load": load, "clips": rows}))
"""

RENDER_CLIPS = """
import json, sys, time
t0 = time.perf_counter()
from sentimentogram_cli import jobs
from sentimentogram_cli.analyser import Analyser
from sentimentogram_cli.jobs import OutputOptions
analyser = Analyser("cpu", sys.argv[2])
output = OutputOptions(out=sys.argv[3] + "/", formats=("json",))
rows = []
for path in json.loads(open(sys.argv[1]).read()):
    t, c = time.perf_counter(), time.process_time()
    result = jobs.render(path, analyser=analyser, output=output, cache=False, force=True)
    rows.append({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "words": result.n_words,
                 "stages": result.stage_seconds})
print(json.dumps({"start": t0, "clips": rows}))
"""


def _timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child and its children, stdout)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def _stages(stdout: str) -> dict[str, float]:
    """The render summary's ``time`` line: stage -> seconds."""
    for line in stdout.splitlines():
        if line.strip().startswith("time "):
            return {k: float(v) for k, v in re.findall(r"([a-z]+) ([0-9.]+) s", line)}
    return {}


def build_talk_file(n_talks: int, folder: Path) -> tuple[Path, float]:
    import soundfile
    from word_accuracy import joined_talks

    from sentimentogram_cli.constants import SAMPLE_RATE
    from sentimentogram_cli.media import decode_audio

    audio = joined_talks(decode_audio, n_talks)
    path = folder / f"talk{n_talks}.wav"
    soundfile.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
    return path, len(audio) / SAMPLE_RATE


def pick_clips(n: int) -> list[Path]:
    """``n`` RAVDESS clips spread evenly over the whole corpus (every actor, emotion, statement)."""
    clips = sorted(RAVDESS.glob("Actor_*/*.opus"))
    if not clips:
        raise SystemExit(f"no RAVDESS clips under {RAVDESS}")
    return [clips[int(i)] for i in np.linspace(0, len(clips) - 1, n)]


def bench_talk(talk: Path, media: float, args, render_root: Path, tmp: Path) -> dict:
    py = sys.executable
    env = {**os.environ, "COLUMNS": "250", "PYTHONPATH": str(render_root)}
    out = tmp / f"{talk.stem}-out"
    sides = {"render": [py, "-m", "sentimentogram_cli", "render", str(talk), "--format", "json", "--no-cache",
                        "--asr-model", args.asr_model, "--out", str(out)],
             "same": [py, "-c", ALONE, str(talk), args.asr_model, "same"],
             "tuned": [py, "-c", ALONE, str(talk), args.asr_model, "tuned"],
             "defaults": [py, "-c", ALONE, str(talk), args.asr_model, "defaults"]}
    rows = []
    for r in range(args.repeats):
        names = list(sides) if r % 2 == 0 else list(sides)[::-1]
        row = {}
        for name in names:
            wall, cpu, stdout = _timed(sides[name], render_root if name == "render" else ROOT,
                                       env if name == "render" else None)
            row[name] = {"wall": wall, "cpu": cpu}
            if name == "render":
                doc = json.loads(out.with_suffix(".json").read_text())
                row[name]["words"] = sum(len(line["words"]) for line in doc["lines"])
                row[name]["stages"] = _stages(stdout)
            else:
                row[name]["words"] = json.loads(stdout.strip().splitlines()[-1])["words"]
        rows.append(row)
        print(f"{talk.name} repeat {r + 1}: " + "; ".join(
            f"{n} {row[n]['wall']:.1f} s, {row[n]['cpu']:.1f} CPU s, {row[n]['words']} words" for n in sides),
            file=sys.stderr, flush=True)
    med = lambda f: round(statistics.median(f(r) for r in rows), 2)  # noqa: E731
    result = {"media_s": round(media, 1), "repeats": len(rows)}
    for name in sides:
        result[name] = {k: med(lambda r, k=k: r[name][k]) for k in ("wall", "cpu", "words")}
    result["render"]["stages"] = {k: med(lambda r, k=k: r["render"]["stages"].get(k, 0.0))
                                  for k in rows[0]["render"]["stages"]}
    for other in ("same", "tuned", "defaults"):
        result[f"ratio_{other}"] = {k: med(lambda r, k=k: r["render"][k] / r[other][k]) for k in ("wall", "cpu")}
    return result


def bench_clips(clips: list[Path], args, render_root: Path, tmp: Path) -> dict:
    from sentimentogram_cli.media import probe

    listing = tmp / "clips.json"
    listing.write_text(json.dumps([str(c) for c in clips]))
    durations = [probe(c).duration for c in clips]
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(render_root)}
    out = tmp / "clips-out"
    out.mkdir(exist_ok=True)
    result = {"clips": len(clips), "media_s": round(sum(durations), 1)}
    started = time.time()
    for name, cmd, cwd in (("render", [py, "-c", RENDER_CLIPS, str(listing), args.asr_model, str(out)], render_root),
                           ("same", [py, "-c", ALONE_CLIPS, str(listing), args.asr_model], ROOT)):
        wall, cpu, stdout = _timed(cmd, cwd, env if name == "render" else None)
        data = json.loads(stdout.strip().splitlines()[-1])
        per = data["clips"]
        rtf = [p["wall"] / d for p, d in zip(per, durations)]
        cpu_rtf = [p["cpu"] / d for p, d in zip(per, durations)]
        result[name] = {"process_wall": round(wall, 1), "process_cpu": round(cpu, 1),
                        "words": sum(p["words"] for p in per),
                        "first_clip_s": round(per[0]["wall"], 2),
                        "median_rtf": round(statistics.median(rtf[1:]), 3), "worst_rtf": round(max(rtf[1:]), 3),
                        "worst_rtf_with_loading": round(max(rtf), 3),
                        "median_cpu_rtf": round(statistics.median(cpu_rtf[1:]), 3)}
        if name == "render":
            stages = {k for p in per for k in p["stages"]}
            result[name]["stages_median"] = {k: round(statistics.median(p["stages"].get(k, 0.0) for p in per[1:]), 3)
                                             for k in sorted(stages)}
        print(f"clips {name}: {result[name]}", file=sys.stderr, flush=True)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result


def print_tables(figures: dict) -> None:
    print("\n| talk (s) | render: wall · CPU (s) · words | faster-whisper, same decoding: wall · CPU (s) · words "
          "| render / same (target ≤ 1.3): wall · CPU | faster-whisper defaults: wall · CPU (s) · words "
          "| render / defaults: wall · CPU |\n|---|---|---|---|---|---|")
    for t in figures["talks"]:
        r, s, d = t["render"], t["same"], t["defaults"]
        print(f"| {t['media_s']:.0f} | {r['wall']:.1f} · {r['cpu']:.1f} · {r['words']:.0f} "
              f"| {s['wall']:.1f} · {s['cpu']:.1f} · {s['words']:.0f} "
              f"| **{t['ratio_same']['wall']:.2f} · {t['ratio_same']['cpu']:.2f}** "
              f"| {d['wall']:.1f} · {d['cpu']:.1f} · {d['words']:.0f} "
              f"| {t['ratio_defaults']['wall']:.2f} · {t['ratio_defaults']['cpu']:.2f} |")
    print("\n| talk (s) | faster-whisper, same decoding, the render's heap and threads (tuned): wall · CPU (s) · words "
          "| render / tuned: wall · CPU |\n|---|---|---|")
    for t in figures["talks"]:
        u = t["tuned"]
        print(f"| {t['media_s']:.0f} | {u['wall']:.1f} · {u['cpu']:.1f} · {u['words']:.0f} "
              f"| {t['ratio_tuned']['wall']:.2f} · {t['ratio_tuned']['cpu']:.2f} |")
    print("\nRender stages (its own timers, wall s): "
          + "; ".join(f"{t['media_s']:.0f} s talk: " + " · ".join(f"{k} {v:.1f}" for k, v in t["render"]["stages"].items())
                      for t in figures["talks"]))
    c = figures.get("clips")
    if c:
        r, s = c["render"], c["same"]
        print(f"\n| {c['clips']} clips ({c['media_s']:.0f} s) | median × real time (target ≤ 1.0) | worst (≤ 2.0) "
              f"| median CPU s per media s | words | first clip, models loading (s) |\n|---|---|---|---|---|---|")
        print(f"| render | **{r['median_rtf']:.2f}** | **{r['worst_rtf']:.2f}** ({r['worst_rtf_with_loading']:.2f} with "
              f"loading) | {r['median_cpu_rtf']:.2f} | {r['words']} | {r['first_clip_s']:.1f} |")
        print(f"| faster-whisper, same decoding | {s['median_rtf']:.2f} | {s['worst_rtf']:.2f} "
              f"({s['worst_rtf_with_loading']:.2f} with loading) | {s['median_cpu_rtf']:.2f} | {s['words']} "
              f"| {s['first_clip_s']:.1f} |")
        print("\nRender stages per clip (median wall s): "
              + " · ".join(f"{k} {v:.2f}" for k, v in r["stages_median"].items()))
    load = figures["load"]
    print(f"\nload average {load[0]:.1f} at start, {load[1]:.1f} at end; render from {figures['checkout']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--quick", action="store_true", help="the 2-minute talk and 12 clips only")
    parser.add_argument("--clips", type=int, help="how many short clips (default 48; 12 with --quick; 0: none)")
    parser.add_argument("--talks", default=None, help="which talks, by how many of word_accuracy.py's are joined "
                        "(default 3,7; 3 with --quick)")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="run the render from this checkout (e.g. an older commit, for a before/after)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    talks = [int(t) for t in (args.talks if args.talks is not None else ("3" if args.quick else "3,7")).split(",") if t]
    n_clips = args.clips if args.clips is not None else (12 if args.quick else 48)
    figures = {"load": [os.getloadavg()[0]], "checkout": str(args.checkout.resolve()), "talks": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in talks:
            talk, media = build_talk_file(n, tmp)
            figures["talks"].append(bench_talk(talk, media, args, args.checkout.resolve(), tmp))
        if n_clips:
            figures["clips"] = bench_clips(pick_clips(n_clips), args, args.checkout.resolve(), tmp)
    figures["load"].append(os.getloadavg()[0])
    print_tables(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
