"""Runs of identical segments in the first pass: real repeats or loops (issue 25), and what deciding
per segment (``guards.unsupported``) costs and gains against decoding the whole run again.

    python benchmarks/segment_runs.py             # the validation recordings of benchmarks/speakers.py
    python benchmarks/segment_runs.py --no-full   # the first pass and the rules' grid only (~5 min)

On the validation recordings of ``benchmarks/speakers.py`` (RAVDESS actors 1-8 and four nEMO
speakers: dialogues and monologues that read RAVDESS's two sentences over and over), the render's
first pass (``decoding.decode`` with the default ``DecodeOptions``) is run and every run of
``guards.SEGMENT_LOOP_COPIES`` or more segments with one text is found. Each segment of a run is
true (a real repeat) when exactly one whole turn lies under it and says its text; otherwise it is a
loop (another sentence, or a cut one- or two-word turn and the next one merged into one). It prints
how many of each every combination of the three rules of ``unsupported`` flags (the lowest word
probability, words of no duration, speech stretches under the segment), then transcribes every
recording that has a run in full twice, with the run decoded again whole (as before) and per
segment (as now), and prints word errors against what was said and the decodes each made.
A turn cut to 0.35 s counts as its first word, one cut to 0.6 s as its first two.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import speaker_sets as S  # noqa: E402  benchmarks/speaker_sets.py: the recordings

from sentimentogram_cli.transcription import guards  # noqa: E402
from sentimentogram_cli.transcription import transcribe as T  # noqa: E402
from sentimentogram_cli.transcription.timestamps import STACK_SECONDS  # noqa: E402

GRID = {"probability": (0.02, 0.05, 0.1, 0.2), "stacked": (1, 2, 3), "stretches": (2, 3)}


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w ]", "", text.lower()).split()


def _texts() -> dict[str, str]:
    with (S.DATA / "labels.csv").open(newline="", encoding="utf-8") as f:
        return {row["path"]: row["text"] for row in csv.DictReader(f)}


def first_pass(model, audio, language: str):
    """The render's first pass over ``audio``: (raw segments, speech stretches)."""
    from sentimentogram_cli.transcription.decoding import DecodeOptions, decode, token_budget
    from sentimentogram_cli.transcription.speech import envelope, speech_stretches
    from sentimentogram_cli.transcription.vad import speech_chunks, speech_probabilities

    options = DecodeOptions()
    env, probs = envelope(audio), speech_probabilities(audio)
    stretches = speech_stretches(audio, env, probs=probs)
    budget = token_budget(sum(b - a for a, b in stretches)) if stretches else None
    raw, _ = decode(model, audio, language, options, max_new_tokens=budget,
                    speech=speech_chunks(probs, len(audio), **options.vad_parameters()))
    return raw, stretches


def run_segments(rec, raw, stretches, texts: dict[str, str]) -> list[dict]:
    """Per segment of each run: is it a real repeat, and what the rules look at."""
    rows = []
    for first, stop in guards.find_segment_loops([s.text for s in raw]):
        for s in raw[first:stop]:
            under = [k for k, (a, b) in enumerate(rec.spans) if min(b, s.end) - max(a, s.start) > 0.15]
            real = (len(under) == 1 and rec.turns[under[0]].cut is None
                    and _words(texts[rec.turns[under[0]].path]) == _words(s.text))
            rows.append({"real": real, "probability": min(w.probability for w in s.words),
                         "stacked": sum(w.end - w.start <= STACK_SECONDS for w in s.words),
                         "stretches": sum(min(b, s.end) - max(a, s.start) > 0.1 for a, b in stretches)})
    return rows


def grid(rows: list[dict]) -> None:
    real, loops = [r for r in rows if r["real"]], [r for r in rows if not r["real"]]
    print(f"\n{len(rows)} segments in runs: {len(real)} real repeats, {len(loops)} loops\n")
    print("| lowest probability below | words of no duration, at least | stretches, at least | loops flagged | real repeats flagged |")
    print("|---|---|---|---|---|")
    for p, z, n in itertools.product(*GRID.values()):
        flag = lambda r: r["probability"] < p or r["stacked"] >= z or r["stretches"] >= n  # noqa: E731
        print(f"| {p} | {z} | {n} | {sum(map(flag, loops))}/{len(loops)} | {sum(map(flag, real))}/{len(real)} |")


def full(recs, texts: dict[str, str]) -> None:
    """Each recording transcribed with the whole run decoded again and with ``unsupported``."""
    from sentimentogram_cli.transcription import decoding

    calls = [0]
    decode = decoding.decode

    def counted(*args, **kwargs):
        calls[0] += 1
        return decode(*args, **kwargs)

    decoding.decode = T.decode = counted  # type: ignore[assignment]
    per_segment = T.unsupported
    totals = {"whole run": [0, 0, 0], "per segment": [0, 0, 0]}
    print("\n| recording | words said | errors, whole run · per segment | decodes, whole run · per segment |\n|---|---|---|---|")
    for rec in recs:
        said = [w for t in rec.turns for w in _words(texts[t.path])[: {0.35: 1, 0.6: 2}.get(t.cut or 0, None)]]
        row = []
        for name in totals:
            T.unsupported = per_segment if name == "per segment" else (lambda *a: "the run")  # type: ignore[assignment]
            calls[0] = 0
            t = T.transcribe(rec.audio, model_name="base", language="pl" if "nemo" in rec.name else "en")
            errors = _edits([w for s in t.segments for w in _words(s.text)], said)
            totals[name] = [totals[name][0] + errors, totals[name][1] + len(said), totals[name][2] + calls[0]]
            row.append((errors, calls[0]))
        print(f"| {rec.name} | {len(said)} | {row[0][0]} · {row[1][0]} | {row[0][1]} · {row[1][1]} |", flush=True)
    T.unsupported = per_segment
    for name, (errors, said, decodes) in totals.items():
        print(f"{name}: {errors} word errors of {said} ({100 * errors / said:.2f}%), {decodes} decodes")


def _edits(a: list[str], b: list[str]) -> int:
    """Word edit distance (substitutions, insertions, deletions)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-full", action="store_true", help="the first pass and the grid only")
    args = parser.parse_args()
    from sentimentogram_cli.assets import load_whisper

    model, texts, rows, with_runs = load_whisper("base", "cpu"), _texts(), [], []
    for rec in S.datasets()["validation"]:
        raw, stretches = first_pass(model, rec.audio, "pl" if "nemo" in rec.name else "en")
        found = run_segments(rec, raw, stretches, texts)
        rows += found
        if found:
            with_runs.append(rec)
    print(f"{len(with_runs)} of the validation recordings have a run")
    grid(rows)
    if not args.no_full:
        full(with_runs, texts)


if __name__ == "__main__":
    main()
