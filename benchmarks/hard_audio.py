"""Speed and runaway transcripts on hard audio: other languages, short clips, noise, tones (issue 16).

    python benchmarks/hard_audio.py              # 4 sets of 16 short clips, 12 joined files, noise, tones
    python benchmarks/hard_audio.py --quick      # 6 clips per set, 1 joined file per language
    python benchmarks/hard_audio.py --decode temperature=[0.0] --json hard.json

Sets, from ../shared/data/emotional_speech (one file per clip, as a user's folder would be):
TurEV-DB (Turkish single words), ASED (Amharic), nEMO (Polish sentences), RAVDESS actors 17-20
(English, the reference); "joined": longer files, each a few clips of one speaker joined with
0.6 s pauses (three per language, for language detection); "hard": 12 s of pink noise and 12 s of
music-like tones (chords with vibrato), where any word is a hallucination.

Each file goes through the stages a render runs (ffmpeg decode, transcription, emotion
recognition; models loaded once, as in a batch) and is timed whole. Per set it prints: real-time
factor (processing s / media s; median, and worst over files of 2 s or more), words per second of
speech (median, worst; speech = each clip's energy span, at least 1 s), files whose transcript
loops (a word or phrase 4 times in a row: the clips' own texts never do), detected languages
against the true one (and how many detections were unsure), and the mean text gate of the
emotion head's fusion (it should fall where the words are not English).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from word_accuracy import DATA, _labels, load_models, speech_span  # noqa: E402

from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402

CACHE = ROOT / ".cache" / "benchmarks" / "hard_audio"
SETS = {"turev-tr": ("turev", "tr"), "ased-am": ("ased", "am"), "nemo-pl": ("nemo", "pl"),
        "ravdess-en": ("ravdess", "en")}
JOIN_PAUSE = 0.6
JOIN_SECONDS = 15.0


def _rows_by_set(labels: dict) -> dict[str, list[dict]]:
    out = {name: [] for name in SETS}
    for row in labels.values():
        for name, (corpus, _) in SETS.items():
            if row["corpus"] == corpus and (corpus != "ravdess" or int(row["speaker"].split("-")[1]) >= 17):
                out[name].append(row)
    return out


def short_clips(rows: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` clips spread over speakers and labels, the same on every run."""
    rng = np.random.default_rng(seed)
    return [rows[i] for i in sorted(rng.choice(len(rows), size=n, replace=False))]


def joined_files(rows: list[dict], per_language: int, seed: int, decode) -> list[tuple[str, np.ndarray, float]]:
    """(name, audio, speech seconds): one speaker's clips with distinct texts, joined to ~15 s."""
    rng = np.random.default_rng(seed)
    speakers = sorted({r["speaker"] for r in rows})
    out = []
    for k, speaker in enumerate(rng.choice(speakers, size=min(per_language, len(speakers)), replace=False)):
        mine = [r for r in rows if r["speaker"] == speaker]
        pieces, speech, seen, t = [], 0.0, set(), 0.0
        for i in rng.permutation(len(mine)):
            row = mine[i]
            if row["text"] and row["text"] in seen:
                continue
            seen.add(row["text"])
            clip = decode(DATA / row["path"])
            a, b = speech_span(clip)
            pad = int(0.1 * SAMPLE_RATE)
            pieces += [clip[max(0, a - pad): b + pad], np.zeros(int(JOIN_PAUSE * SAMPLE_RATE), np.float32)]
            speech += (b - a) / SAMPLE_RATE
            t += (b - a + 2 * pad) / SAMPLE_RATE + JOIN_PAUSE
            if t >= JOIN_SECONDS:
                break
        out.append((f"{speaker}-joined{k}", np.concatenate(pieces[:-1]), speech))
    return out


def hard_files(seconds: float = 12.0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    n = int(seconds * SAMPLE_RATE)
    white = np.fft.rfft(rng.normal(size=n))
    pink = np.fft.irfft(white / np.sqrt(np.maximum(np.arange(len(white)), 1)), n)
    pink = (0.1 * pink / np.abs(pink).max()).astype(np.float32)
    t = np.arange(n) / SAMPLE_RATE
    tones = np.zeros(n)
    chords = [(220.0, 277.2, 329.6), (246.9, 311.1, 370.0), (196.0, 246.9, 293.7), (261.6, 329.6, 392.0)]
    for i, chord in enumerate(chords * int(seconds // 2)):
        a, b = int(i * 1.5 * SAMPLE_RATE), min(n, int((i * 1.5 + 1.4) * SAMPLE_RATE))
        if a >= n:
            break
        seg = t[a:b] - t[a]
        env = np.minimum(1, seg / 0.05) * np.exp(-seg * 1.2)
        for f in chord:
            tones[a:b] += env * np.sin(2 * np.pi * f * seg + 3 * np.sin(2 * np.pi * 5 * seg))
    return [("pink-noise", pink), ("tones", (0.2 * tones / np.abs(tones).max()).astype(np.float32))]


def _write_wav(path: Path, audio: np.ndarray) -> Path:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        soundfile.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
    return path


def build(quick: bool) -> list[tuple[str, Path, float, str | None]]:
    """(set, file, speech seconds, true language) for every file of the benchmark."""
    from sentimentogram_cli.media import decode_audio

    labels = _labels()
    by_set = _rows_by_set(labels)
    files = []
    for k, (name, (_, language)) in enumerate(SETS.items()):
        for row in short_clips(by_set[name], 6 if quick else 16, seed=k):
            clip = decode_audio(DATA / row["path"])
            a, b = speech_span(clip)
            files.append((name, DATA / row["path"], (b - a) / SAMPLE_RATE, language))
    for k, (name, (_, language)) in enumerate(SETS.items()):
        for stem, audio, speech in joined_files(by_set[name], 1 if quick else 3, seed=100 + k, decode=decode_audio):
            files.append(("joined", _write_wav(CACHE / f"{stem}.wav", audio), speech, language))
    for stem, audio in hard_files():
        files.append(("hard", _write_wav(CACHE / f"{stem}.wav", audio), 0.0, None))
    return files


def _takes_language(function) -> bool:
    import inspect

    return "language" in inspect.signature(function).parameters


def run_file(path: Path, models, asr_model: str, decode: dict, language: str | None) -> dict:
    """One file through decode, transcription and emotions (the stages a render runs, in the
    same order as ``Analyser``), timed whole with the models already loaded."""
    from sentimentogram_cli.constants import CHUNK_SECONDS
    from sentimentogram_cli.emotion.recognise import recognise_chunks
    from sentimentogram_cli.media import iter_audio_chunks
    from sentimentogram_cli.transcription.transcribe import transcribe_chunks

    head, audio_encoder, text_encoder = models
    t0 = time.perf_counter()
    chunks = list(iter_audio_chunks(path, CHUNK_SECONDS))
    n = sum(len(c) for c in chunks)
    extra = {"decode": decode} if decode else {}
    transcript = transcribe_chunks(chunks, n, model_name=asr_model, language=language, device="cpu", **extra)
    t1 = time.perf_counter()
    kwargs = {"language": transcript.language} if _takes_language(recognise_chunks) else {}
    lines = (recognise_chunks(chunks, n, transcript.segments, head, audio_encoder, text_encoder, **kwargs)
             if transcript.words else [])
    t2 = time.perf_counter()
    words = [w for line in lines for w in line.words]
    return {"duration": n / SAMPLE_RATE, "seconds": t2 - t0, "asr_seconds": t1 - t0, "words": len(words),
            "text": " ".join(line.text for line in lines), "language": transcript.language,
            # (older checkouts, measured for the "before" table, lack the last two)
            "language_probability": getattr(transcript, "language_probability", float("nan")),
            "notes": getattr(transcript, "notes", []),
            "text_gates": [w.emotion.text_gate for w in words]}


def summarise(rows: list[dict]) -> dict:
    try:
        from sentimentogram_cli.transcription.transcribe import LANGUAGE_UNSURE_BELOW
    except ImportError:
        LANGUAGE_UNSURE_BELOW = 0.5
    from sentimentogram_cli.transcription.guards import find_loop

    rtf = [r["seconds"] / r["duration"] for r in rows]
    long_rtf = [x for x, r in zip(rtf, rows) if r["duration"] >= 2.0]
    wps = [r["words"] / max(r["speech"], 1.0) for r in rows]
    gates = [g for r in rows for g in r["text_gates"]]
    true = [r["true_language"] for r in rows if r["true_language"]]
    return {
        "files": len(rows), "media_seconds": sum(r["duration"] for r in rows),
        "rtf_median": statistics.median(rtf), "rtf_worst": max(long_rtf) if long_rtf else None,
        "rtf_worst_any": max(rtf), "wps_median": statistics.median(wps), "wps_worst": max(wps),
        "over_6_wps": sum(x > 6.0 for x in wps), "words": sum(r["words"] for r in rows),
        "loops": sum(find_loop(r["text"].split()) is not None for r in rows),
        "language_right": sum(r["language"] == r["true_language"] for r in rows if r["true_language"]),
        "language_total": len(true),
        "unsure": sum(r["language_probability"] < LANGUAGE_UNSURE_BELOW for r in rows),
        "detected": dict(Counter(r["language"] for r in rows).most_common()),
        "text_gate": float(np.mean(gates)) if gates else None,
        "failed_decodes": sum(any("failed" in n for n in r["notes"]) for r in rows),
    }


def table(summary: dict[str, dict]) -> str:
    out = ["| set | files · media (s) | RTF median | RTF worst (≥ 2 s) | words/s of speech median · worst | "
           "files > 6 words/s | looping files | language right | unsure | detected | mean text gate |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        lang = f"{s['language_right']}/{s['language_total']}" if s["language_total"] else "–"
        detected = ", ".join(f"{k or '–'} {v}" for k, v in list(s["detected"].items())[:6])
        worst = f"{s['rtf_worst']:.2f}" if s["rtf_worst"] is not None else f"– (all < 2 s; {s['rtf_worst_any']:.2f})"
        gate = f"{s['text_gate']:.2f}" if s["text_gate"] is not None else "–"
        out.append(f"| {name} | {s['files']} · {s['media_seconds']:.0f} | {s['rtf_median']:.2f} | {worst} | "
                   f"{s['wps_median']:.1f} · {s['wps_worst']:.1f} | {s['over_6_wps']} | {s['loops']} | {lang} | "
                   f"{s['unsure']} | {detected} | {gate} |")
    return "\n".join(out)


def main_run(args) -> int:
    from word_accuracy import _parse_decode

    decode = _parse_decode(args.decode)
    load = os.getloadavg()
    files = [f for f in build(args.quick) if not args.sets or f[0] in args.sets]
    models = load_models()
    # warm-up: every model once, so first-call costs do not land on the first file
    run_file(files[0][1], models, args.asr_model, decode, args.language)
    rows = []
    for name, path, speech, language in files:
        r = run_file(path, models, args.asr_model, decode, args.language)
        r.update(set=name, file=path.name, speech=speech, true_language=language)
        rows.append(r)
        print(f"{name:11s} {path.name[:34]:34s} {r['duration']:5.1f} s  rtf {r['seconds'] / r['duration']:5.2f}  "
              f"{r['words']:3d} words  {r['language']} {r['language_probability']:.2f}  {r['text'][:60]!r}"
              + (f"  [{'; '.join(r['notes'])}]" if r["notes"] else ""), flush=True)
    summary = {name: summarise([r for r in rows if r["set"] == name]) for name in dict.fromkeys(r["set"] for r in rows)}
    settings = ", ".join(f"{k}={v}" for k, v in decode.items()) or "defaults"
    print(f"\nload average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end (other work on the machine)")
    print(f"\n### words from {args.asr_model} ({settings}{', --language ' + args.language if args.language else ''})\n")
    print(table(summary))
    if args.json:
        args.json.write_text(json.dumps({"decode": decode, "summary": summary, "files": rows}, indent=1, default=str))
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--decode", nargs="*", default=[], metavar="KEY=JSON")
    parser.add_argument("--language", default=None, help="give every file this language (as --language does)")
    parser.add_argument("--sets", nargs="*", help="only these sets")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    raise SystemExit(main_run(args))


if __name__ == "__main__":
    main()
