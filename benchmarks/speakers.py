"""Speaker turns (issue 21): word diarization error rate, speakers found, per-speaker emotion
normalisation, cost.

    python benchmarks/speakers.py                 # validation (thresholds) then the report set
    python benchmarks/speakers.py --alternative   # + Whisper-encoder states as the embedding
    python benchmarks/speakers.py --emotion       # + emotion accuracy per utterance, with/without
    python benchmarks/speakers.py --render        # + speakers stage against a whole 5-min render
    python benchmarks/speakers.py --no-projection # raw GE2E embeddings (before turns.project)
    python benchmarks/speakers.py --weights 0 0.25 0.5 0.75 1   # CAM++'s share of the cosine, each chosen on validation
    python benchmarks/speakers.py --memory 2 30   # peak memory of find_turns on 2- and 30-minute inputs

The recordings (validation and report sets: how the dialogues and monologues are built, their
cached transcripts, each word's true speaker) are ``benchmarks/speaker_sets.py``'s. The linkage
(average or complete) and the threshold are chosen on the validation set, by the number of
recordings whose speakers are counted right, then WDER; the report set is scored with them.
WDER: share of words given the wrong speaker after the best one-to-one mapping of found to true
speakers (Hungarian). Cost: CPU seconds of ``speakers.find_turns`` per minute of audio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import speaker_sets  # noqa: E402  benchmarks/speaker_sets.py: the recordings
from speaker_sets import Recording, _analyser, datasets, transcript, truth  # noqa: E402

from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402
from sentimentogram_cli.document import Word  # noqa: E402
from sentimentogram_cli.speakers import VoiceEncoder, find_turns, piece_audio  # noqa: E402
from sentimentogram_cli.speakers import voices as voices_mod  # noqa: E402
from sentimentogram_cli.speakers import turns as turns_mod  # noqa: E402


def wder(found: list[str], true: list[str]) -> float:
    from scipy.optimize import linear_sum_assignment

    f_ids, t_ids = sorted(set(found)), sorted(set(true))
    counts = np.zeros((len(f_ids), len(t_ids)))
    for a, b in zip(found, true):
        counts[f_ids.index(a), t_ids.index(b)] += 1
    rows, cols = linear_sum_assignment(-counts)
    return 1.0 - counts[rows, cols].sum() / max(1, len(true))


# ---- embeddings -------------------------------------------------------------------------------


SPEAKER_DIM = 256  # GE2E's part of each embedding; CAM++'s follows
PROJECT = True  # --no-projection: the raw GE2E embeddings (the figures before the projection)


def voice_embeddings(encoder, rec: Recording, words: list[Word]):
    """The pieces and their embeddings as ``find_turns`` makes them (``voices.VoiceEncoder``)."""
    pieces = turns_mod.cut_pieces(words)
    chunks = [rec.audio]
    t0 = time.process_time()
    emb = encoder.embed([piece_audio(chunks, len(rec.audio), p.start, p.end) for p in pieces], project_ge2e=PROJECT)
    return pieces, emb, time.process_time() - t0


def reweighted(items, weight: float):
    """``items`` with each embedding's two encoders mixed at CAM++ weight ``weight`` instead of
    ``voices.CAMPLUS_WEIGHT`` (the parts are recovered from the shipped mix)."""
    split, w0 = SPEAKER_DIM, voices_mod.CAMPLUS_WEIGHT
    out = []
    for rec, words, true, pieces, emb in items:
        ge2e, cam = emb[:, :split] / np.sqrt(1 - w0), emb[:, split:] / np.sqrt(w0)
        out.append((rec, words, true, pieces, np.concatenate([np.sqrt(1 - weight) * ge2e, np.sqrt(weight) * cam], 1)))
    return out


_WHISPER_ENC = None


def whisper_embeddings(rec: Recording, words: list[Word]):
    """The alternative: mean and std of the Whisper-encoder frames (the emotion head's layers)
    over each piece, standardised over the recording and L2-normalised."""
    global _WHISPER_ENC
    from sentimentogram_cli.emotion.features import frames_for_span

    if _WHISPER_ENC is None:
        _WHISPER_ENC = _analyser("base").audio_encoder
    pieces = turns_mod.cut_pieces(words)
    t0 = time.process_time()
    frames = _WHISPER_ENC.encode(rec.audio).astype(np.float32)
    feats = []
    for p in pieces:
        own = frames_for_span(frames, p.start, p.end)
        own = own if len(own) else frames[:1]
        feats.append(np.concatenate([own.mean(0), own.std(0)]))
    feats = np.array(feats)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-6) if len(feats) > 1 else feats
    feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-9)
    return pieces, feats, time.process_time() - t0


def evaluate(items, merge_distance: float, linkage: str = turns_mod.LINKAGE, given: bool = False) -> dict:
    """WDER and speaker counts of ``items`` (recording, words, truth, pieces, embeddings);
    ``given``: the true number of speakers is asked for (``--speakers N``), not found."""
    rows = []
    for rec, words, true, pieces, emb in items:
        n_true = len({t.speaker for t in rec.turns})
        turns = turns_mod.turns_from_embeddings(words, pieces, emb, n_true if given else None,
                                                merge_distance=merge_distance, linkage=linkage)
        rows.append({"name": rec.name, "true": n_true, "found": len(turns.speakers),
                     "wder": wder(turns.word_speakers, true), "words": len(words)})
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    out = {"rows": rows}
    for n in (1, 2, 3):
        sel = [r for r in rows if r["true"] == n]
        if sel:
            out[n] = {"recordings": len(sel), "count_right": sum(r["found"] == n for r in sel),
                      "wder": sum(r["wder"] * r["words"] for r in sel) / max(1, sum(r["words"] for r in sel))}
    return out


def _score(summary: dict) -> tuple:
    right = sum(summary[n]["count_right"] for n in (1, 2, 3) if n in summary)
    return (right, -summary[2]["wder"] - summary.get(3, {"wder": 0})["wder"])


def tune(items, grid, linkage: str = turns_mod.LINKAGE) -> float:
    best = max(grid, key=lambda d: _score(evaluate(items, d, linkage)))
    return float(best)


def _print(title: str, summary: dict) -> None:
    print(f"\n{title}")
    print("| speakers | recordings | right count | WDER |")
    print("|---|---|---|---|")
    for n in (1, 2, 3):
        if n in summary:
            s = summary[n]
            print(f"| {n} | {s['recordings']} | {s['count_right']} / {s['recordings']} | {100 * s['wder']:.1f}% |")


def prepare(recs, asr_model, encoder, alternative):
    items, alt_items, cpu, alt_cpu, seconds = [], [], 0.0, 0.0, 0.0
    for rec in recs:
        segs = transcript(rec, asr_model)
        words = [w for s in segs for w in s.words]
        if not words:
            print(f"  {rec.name}: no words, skipped")
            continue
        true = truth(words, rec.spans, rec.turns)
        pieces, emb, c = voice_embeddings(encoder, rec, words)
        items.append((rec, words, true, pieces, emb))
        cpu += c
        seconds += len(rec.audio) / SAMPLE_RATE
        if alternative:
            p2, e2, c2 = whisper_embeddings(rec, words)
            alt_items.append((rec, words, true, p2, e2))
            alt_cpu += c2
    return items, alt_items, cpu, alt_cpu, seconds


def emotion_accuracy(items, asr_model: str) -> dict:
    """Emotion accuracy per utterance (a whole-clip turn: its words' duration-weighted mean
    probabilities against the clip's label) through the render's emotion stage, with the
    recording's normalisation and with each found speaker's own (``speakers=``)."""
    from sentimentogram_cli.emotion.recognise import recognise_chunks
    from sentimentogram_cli.speakers import split_segments

    analyser = _analyser(asr_model)
    hits = {"recording": [], "per speaker": []}
    for rec, words, _true, pieces, emb in items:
        turns = turns_mod.turns_from_embeddings(words, pieces, emb, None)
        segs = transcript(rec, asr_model)
        split = [s for s, _ in split_segments(segs, turns.word_speakers)]
        for mode, speakers in (("recording", None), ("per speaker", turns.word_speakers)):
            lines = recognise_chunks([rec.audio], len(rec.audio), split, analyser.head, analyser.audio_encoder,
                                     analyser.text_encoder, language="en", speakers=speakers)
            got = [w for line in lines for w in line.words]
            for (a, b), turn in zip(rec.spans, rec.turns):
                if turn.cut:
                    continue
                own = [w for w in got if a - 0.1 <= (w.start + w.end) / 2 <= b + 0.1]
                if not own:
                    continue
                labels = list(analyser.head.labels)
                p = sum(np.array([w.emotion.probabilities[k] for k in labels]) * max(w.end - w.start, 1e-3) for w in own)
                hits[mode].append(labels[int(np.argmax(p))] == turn.label)
    out = {mode: {"utterances": len(h), "accuracy": float(np.mean(h)) if h else None} for mode, h in hits.items()}
    print("\nEmotion accuracy per utterance (report dialogues, whole-clip turns):")
    for mode, r in out.items():
        print(f"  {mode} normalisation: {100 * r['accuracy']:.1f}% of {r['utterances']}")
    return out


def weigh(val_items, rep_items, weights, grid) -> None:
    """For each CAM++ weight: the threshold chosen on validation, and both sets' counts and WDER."""
    print("\n| CAM++ weight | merge distance | validation right (1 / 2 / 3) | validation WDER two | "
          "report right (1 / 2 / 3) | report WDER two |")
    print("|---|---|---|---|---|---|")
    for w in weights:
        val, rep = reweighted(val_items, w), reweighted(rep_items, w)
        d = tune(val, grid)
        v, r = evaluate(val, d), evaluate(rep, d)
        counts = lambda s: " / ".join(str(s[n]["count_right"]) for n in (1, 2, 3))  # noqa: E731
        total = sum(v[n]["count_right"] for n in (1, 2, 3))
        print(f"| {w} | {d} | {counts(v)} ({total}) | {100 * v[2]['wder']:.1f}% | {counts(r)} | {100 * r[2]['wder']:.1f}% |")


def main() -> None:
    global PROJECT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--alternative", action="store_true", help="also Whisper-encoder states as embeddings")
    parser.add_argument("--emotion", action="store_true", help="emotion accuracy with/without per-speaker normalisation")
    parser.add_argument("--render", action="store_true", help="speakers stage against a whole 5-min render")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--render-only", action="store_true", help="only the render cost")
    parser.add_argument("--memory", type=float, nargs="+", metavar="MINUTES",
                        help="only the peak memory of find_turns on inputs this many minutes long")
    parser.add_argument("--gaps", type=float, nargs=2, default=list(speaker_sets.GAPS), metavar=("LO", "HI"),
                        help="pauses between turns drawn from LO-HI seconds (default 0.3 0.7)")
    parser.add_argument("--validation-draws", type=int, default=6, help="draws of the validation recipe (default 6)")
    parser.add_argument("--weights", type=float, nargs="+", metavar="W",
                        help="CAM++'s share of the cosine (0: GE2E alone, 1: CAM++ alone), each with its threshold "
                             "chosen on validation (average linkage)")
    parser.add_argument("--no-projection", action="store_true",
                        help="cluster the raw GE2E embeddings (without turns.project), threshold re-chosen")
    args = parser.parse_args()
    import speaker_costs  # benchmarks/speaker_costs.py: the render share and the peak memory

    PROJECT = not args.no_projection
    speaker_sets.GAPS = (args.gaps[0], args.gaps[1])  # read by speaker_sets._build
    if args.render_only:
        speaker_costs.render_cost()
        return
    if args.memory:
        speaker_costs.memory(args.memory, args.asr_model)
        return
    sets = datasets(extra_validation=args.validation_draws - 1)
    encoder = VoiceEncoder("cpu")
    grid = np.round(np.arange(0.15, 1.21, 0.025), 3)
    results: dict = {"library_merge_distance": turns_mod.MERGE_DISTANCE}
    prepared = {split: prepare(recs, args.asr_model, encoder, args.alternative) for split, recs in sets.items()}
    if args.weights:
        weigh(prepared["validation"][0], prepared["report"][0], args.weights, grid)
    for label, idx in (("GE2E + CAM++", 0), ("Whisper encoder states", 1)):
        if idx == 1 and not args.alternative:
            continue
        val_items, rep_items = prepared["validation"][idx], prepared["report"][idx]
        # the linkage and the threshold are both chosen on validation; each linkage is shown
        by_linkage = {lk: tune(val_items, grid, lk) for lk in ("average", "complete")}
        linkage = max(by_linkage, key=lambda lk: _score(evaluate(val_items, by_linkage[lk], lk)))
        for lk, d in by_linkage.items():
            mark = " (chosen)" if lk == linkage else ""
            _print(f"{label}, {lk} linkage{mark}: validation set, merge distance {d} (chosen here)",
                   evaluate(val_items, d, lk))
            _print(f"{label}, {lk} linkage{mark}: report set, merge distance {d}", evaluate(rep_items, d, lk))
        chosen = by_linkage[linkage]
        val, rep = evaluate(val_items, chosen, linkage), evaluate(rep_items, chosen, linkage)
        cpu = sum(prepared[s][2 + idx] for s in prepared)
        minutes = sum(prepared[s][4] for s in prepared) / 60
        print(f"{label}: embedding CPU {cpu / minutes:.2f} s per minute of audio")
        results[label] = {"merge_distance": chosen, "linkage": linkage, "validation": val, "report": rep,
                          "cpu_seconds_per_minute": cpu / minutes}
        if idx == 0:
            lib = evaluate(rep_items, turns_mod.MERGE_DISTANCE)
            _print(f"{label}: report set with the library's {turns_mod.LINKAGE} linkage, MERGE_DISTANCE "
                   f"{turns_mod.MERGE_DISTANCE}", lib)
            results[label]["report_library_default"] = lib
            given = evaluate(rep_items, turns_mod.MERGE_DISTANCE, given=True)
            _print(f"{label}: report set with the true number of speakers given (--speakers N)", given)
            results[label]["report_number_given"] = given
            t0 = time.process_time()
            for rec, words, *_ in rep_items:
                find_turns([rec.audio], len(rec.audio), words, encoder)
            total = sum(len(r[0].audio) for r in rep_items) / SAMPLE_RATE / 60
            per_min = (time.process_time() - t0) / total
            print(f"find_turns (embed + cluster), report set: {per_min:.2f} CPU s per minute of audio")
            results["find_turns_cpu_seconds_per_minute"] = per_min
    if args.emotion:
        dialogues = [it for it in prepared["report"][0] if len({t.speaker for t in it[0].turns}) > 1]
        results["emotion"] = emotion_accuracy(dialogues, args.asr_model)
    if args.render:
        results["render"] = speaker_costs.render_cost()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
