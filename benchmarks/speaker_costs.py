"""What the speaker stage costs (issue 21, issue 25): its share of a whole 5-minute render, and
the peak memory of ``speakers.find_turns`` against the input's length. Run through
``benchmarks/speakers.py --render``, ``--render-only`` or ``--memory 2 30``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from speakers import datasets, transcript  # benchmarks/speakers.py (this folder is on sys.path)

from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.document import Word
from sentimentogram_cli.speakers import SpeakerEncoder, find_turns


def render_cost() -> dict:
    """CPU of the speakers stage (``find_turns``: embeddings and clustering) against a whole
    render (``--speakers off``, a subprocess: CPU from its rusage) of render_vs_whisper.py's
    5-minute talk, the same talk benchmarks/emphasis.py --render uses."""
    from sentimentogram_cli.media import decode_audio

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from word_accuracy import joined_talks, render_talk

    audio = joined_talks(decode_audio)
    render_cpu, words, _ = render_talk(audio, ["--format", "html,json", "--speakers", "off"])
    t0 = time.process_time()
    encoder = SpeakerEncoder("cpu")
    load = time.process_time() - t0
    t0 = time.process_time()
    turns = find_turns([audio], len(audio), words, encoder)
    cpu = time.process_time() - t0
    out = {"seconds": len(audio) / SAMPLE_RATE, "words": len(words), "render_cpu": render_cpu,
           "speakers_cpu": cpu, "encoder_load_cpu": load, "speakers_found": len(turns.speakers),
           "share": (cpu + load) / render_cpu}
    print(f"\nrender of a {out['seconds']:.0f} s talk ({len(words)} words), --speakers off: {render_cpu:.1f} CPU s; "
          f"speakers stage on its words {cpu:.2f} CPU s + encoder load {load:.2f} CPU s = {out['share']:.1%} of the "
          f"render (target <= 10%); {len(turns.speakers)} speaker(s) found")
    return out


def memory(minutes: list[float], asr_model: str) -> dict:
    """Peak memory (tracemalloc: numpy's and Python's allocations, above what is held before the
    call) of ``find_turns`` on inputs of ``minutes`` made by repeating the first report dialogue
    (its audio and its words, shifted), and its growth per minute between the shortest and the
    longest (issue 25: flat in the length of the input)."""
    import tracemalloc

    rec = next(r for r in datasets()["report"] if len({t.speaker for t in r.turns}) == 2)
    words = [w for s in transcript(rec, asr_model) for w in s.words]
    encoder = SpeakerEncoder("cpu")
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
