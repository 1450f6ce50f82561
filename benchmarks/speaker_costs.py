"""What the speaker stage costs (issue 21, issue 25): its share of a whole 5-minute render, and
the peak memory of ``speakers.find_turns`` against the input's length. Run through
``benchmarks/speakers.py --render``, ``--render-only`` or ``--memory 2 30``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from speaker_sets import datasets, transcript  # benchmarks/speaker_sets.py (this folder is on sys.path)

from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.document import Word
from sentimentogram_cli.speakers import VoiceEncoder, find_turns


def render_cost(repeats: int = 3) -> dict:
    """What speaker turns add to a whole render of render_vs_whisper.py's 5-minute talk (the talk
    benchmarks/emphasis.py --render uses too): renders with ``--speakers auto`` and ``--speakers
    off`` alternated ``repeats`` times (subprocesses; wall clock, and CPU from their rusage),
    medians; and the CPU of ``find_turns`` alone on the words of the render (in this process)."""
    from sentimentogram_cli.media import decode_audio

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from word_accuracy import joined_talks, render_talk

    audio = joined_talks(decode_audio)
    runs: dict[str, list[tuple[float, float]]] = {"off": [], "auto": []}
    words: list[Word] = []
    for _ in range(repeats):
        for mode in ("off", "auto"):
            t0 = time.perf_counter()
            cpu, found, _ = render_talk(audio, ["--format", "html,json", "--speakers", mode])
            runs[mode].append((time.perf_counter() - t0, cpu))
            words = found if mode == "off" else words
    wall = {m: float(np.median([w for w, _ in r])) for m, r in runs.items()}
    cpu = {m: float(np.median([c for _, c in r])) for m, r in runs.items()}
    t0 = time.process_time()
    encoder = VoiceEncoder("cpu")
    load = time.process_time() - t0
    t0 = time.process_time()
    turns = find_turns([audio], len(audio), words, encoder)
    stage = time.process_time() - t0
    out = {"seconds": len(audio) / SAMPLE_RATE, "words": len(words), "runs": runs, "wall": wall, "cpu": cpu,
           "added_wall": wall["auto"] / wall["off"] - 1, "added_cpu": cpu["auto"] / cpu["off"] - 1,
           "speakers_cpu": stage, "encoder_load_cpu": load, "speakers_found": len(turns.speakers),
           "share": (stage + load) / cpu["off"]}
    print(f"\nrender of a {out['seconds']:.0f} s talk ({len(words)} words), medians of {repeats} alternated runs: "
          f"--speakers off {wall['off']:.1f} s wall / {cpu['off']:.1f} CPU s, auto {wall['auto']:.1f} s / "
          f"{cpu['auto']:.1f} CPU s: speaker turns add {out['added_wall']:.1%} wall, {out['added_cpu']:.1%} CPU "
          f"(target <= 10%); find_turns alone {stage:.2f} CPU s + encoders' load {load:.2f} CPU s = "
          f"{out['share']:.1%} of the render's CPU; {len(turns.speakers)} speaker(s) found")
    return out


def memory(minutes: list[float], asr_model: str) -> dict:
    """Peak memory (tracemalloc: numpy's and Python's allocations, above what is held before the
    call) of ``find_turns`` on inputs of ``minutes`` made by repeating the first report dialogue
    (its audio and its words, shifted), and its growth per minute between the shortest and the
    longest (issue 25: flat in the length of the input)."""
    import tracemalloc

    rec = next(r for r in datasets()["report"] if len({t.speaker for t in r.turns}) == 2)
    words = [w for s in transcript(rec, asr_model) for w in s.words]
    encoder = VoiceEncoder("cpu")
    find_turns([rec.audio], len(rec.audio), words, encoder, "auto")  # imports and first-call caches, not counted
    size, out = len(rec.audio), {}
    for m in minutes:
        copies = max(1, round(m * 60 * SAMPLE_RATE / size))
        audio = np.tile(rec.audio, copies)
        shifted = [Word(w.text, w.start + k * size / SAMPLE_RATE, w.end + k * size / SAMPLE_RATE, w.probability)
                   for k in range(copies) for w in words]
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        find_turns([audio], len(audio), shifted, encoder, "auto")
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        out[len(audio) / SAMPLE_RATE / 60] = peak
        print(f"find_turns on {len(audio) / SAMPLE_RATE / 60:.1f} min ({len(shifted)} words): peak {peak / 2**20:.1f} MiB "
              "above its input")
    (m0, p0), (m1, p1) = min(out.items()), max(out.items())
    if m1 > m0:
        print(f"growth: {(p1 - p0) / 2**20 / (m1 - m0):.2f} MiB per minute of media (target: flat; issue 25)")
    return {"peak_bytes_by_minutes": out}
