"""Per-word emphasis (issue 20): a boosted word must become the emphasised one; the share of
emphasised words on ordinary and on flat speech; the cost of the prosody stage.

    python benchmarks/emphasis.py                  # test clips and talks (~70 Whisper base runs, cached)
    python benchmarks/emphasis.py --tune           # the validation grid the constants came from
    python benchmarks/emphasis.py --render         # + prosody CPU against a whole render of a 5-min talk
    python benchmarks/emphasis.py --clips a.wav b.wav --boost 8   # your own clips
    python benchmarks/emphasis.py --nemo --boost-only              # + 16 Polish clips of the test speakers

Boost check: each clip is transcribed (Whisper base, the render's recogniser), one content word
(4 letters or more, at least 0.15 s, a Whisper span that holds speech rather than a pause; the
clips take turns in which one) is made ``--boost`` dB louder over its Whisper span (10 ms ramps; the clip is scaled down if it would clip), the boosted clip is
transcribed again and its prosody computed, as a render would. It passes when the word that
overlaps the boosted span most has the highest ``emphasis`` of the clip and is ``emphasised``.
Test clips: RAVDESS actors 17-20 (16 clips: 8 emotions, both statements). Validation
(``--tune``): RAVDESS actors 1-16 and nEMO speakers KS0, KD0; the thresholds in constants.py
were chosen there, never on the test clips.

Talks: one speaker each, clips of that speaker joined with 0.5 s pauses. Ordinary speech: RAVDESS
neutral and calm takes, nEMO neutral sentences, and jfk.flac; expressive speech: each sentence in
another emotion (RAVDESS all eight at normal intensity, nEMO any). Flat speech: the ordinary talks
made monotone (Praat PSOLA resynthesis at the speaker's median pitch) with every word brought to
the same level. Cost: CPU seconds of Praat's measures and the baselines per minute of audio.
Transcripts are cached under .cache/benchmarks/emphasis/.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sentimentogram_cli.constants import (CHUNK_SAMPLES, EMPHASIS_DB, EMPHASIS_OCTAVES,  # noqa: E402
                                          EMPHASIS_SEMITONES, EMPHASIS_THRESHOLD, SAMPLE_RATE)
from sentimentogram_cli.document import Word  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SPEECH = DATA / "emotional_speech"
CACHE = ROOT / ".cache" / "benchmarks" / "emphasis"
TEST_ACTORS = (17, 18, 19, 20)
TUNE_ACTORS = tuple(range(1, 17))
TUNE_NEMO, TEST_NEMO = ("KS0", "KD0"), ("WR0", "TP0")
EMOTION_CODES = ("01", "02", "03", "04", "05", "06", "07", "08")


# ---- audio ----------------------------------------------------------------------------------

def decode(path: Path) -> np.ndarray:
    from sentimentogram_cli.media import decode_audio

    return decode_audio(path)


def chunks(audio: np.ndarray) -> list[np.ndarray]:
    return [audio[i: i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)]


def boost(audio: np.ndarray, start: float, end: float, db: float) -> np.ndarray:
    """``audio`` with [start, end) made ``db`` louder (10 ms raised-cosine ramps), scaled down
    as a whole if it would clip."""
    gain = np.ones(len(audio))
    a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    ramp = int(0.01 * SAMPLE_RATE)
    g = 10 ** (db / 20)
    gain[a:b] = g
    rise = 1 + (g - 1) * 0.5 * (1 - np.cos(np.linspace(0, np.pi, ramp)))
    gain[max(0, a - ramp):a] = rise[ramp - (a - max(0, a - ramp)):]
    gain[b:b + ramp] = rise[::-1][: len(gain[b:b + ramp])]
    out = audio * gain
    peak = np.abs(out).max()
    return (out / peak * 0.99 if peak > 0.99 else out).astype(np.float32)


def speech_span(clip: np.ndarray, floor_db: float = -35.0) -> tuple[int, int]:
    frame = SAMPLE_RATE // 50
    n = len(clip) // frame
    rms = np.sqrt(np.mean(clip[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    return int(max(0, loud[0] - 5) * frame), int(min(n, loud[-1] + 6) * frame)


def join(clips: list[np.ndarray], pause: float = 0.5, seed: int = 0) -> np.ndarray:
    gap = np.zeros(int(pause * SAMPLE_RATE), np.float32)
    pieces = []
    for clip in clips:
        a, b = speech_span(clip)
        pieces += [clip[a:b], gap]
    audio = np.concatenate(pieces[:-1]).astype(np.float32)
    return audio + np.random.default_rng(seed).normal(0, 1e-4, len(audio)).astype(np.float32)


def flatten(audio: np.ndarray, words: list[Word]) -> np.ndarray:
    """Monotone (PSOLA at the median pitch) with every word at the same level: flat speech."""
    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(audio.astype(np.float64), SAMPLE_RATE)
    manipulation = call(sound, "To Manipulation", 0.01, 75, 500)
    f0 = sound.to_pitch_ac(pitch_floor=75, pitch_ceiling=500).selected_array["frequency"]
    median = float(np.median(f0[f0 > 0])) if (f0 > 0).any() else 120.0
    tier = call(manipulation, "Extract pitch tier")
    call(tier, "Formula", f"{median:.2f}")
    call([tier, manipulation], "Replace pitch tier")
    flat = call(manipulation, "Get resynthesis (overlap-add)").values[0].astype(np.float32)[: len(audio)]
    out = flat.copy()
    for w in words:
        a, b = int(w.start * SAMPLE_RATE), int(w.end * SAMPLE_RATE)
        if b - a > 160:
            rms = float(np.sqrt(np.mean(flat[a:b].astype(np.float64) ** 2)) + 1e-9)
            out[a:b] = flat[a:b] * (0.05 / rms)
    peak = np.abs(out).max()
    return out / peak * 0.9 if peak > 0.9 else out


# ---- transcripts (cached) and prosody ---------------------------------------------------------

_analyser = None


def transcribe(audio: np.ndarray, language: str | None) -> list[Word]:
    global _analyser
    key = hashlib.sha256(audio.tobytes() + f"base|{language}".encode()).hexdigest()[:24]
    path = CACHE / f"{key}.json"
    if path.is_file():
        return [Word(**w) for w in json.loads(path.read_text())]
    if _analyser is None:
        from sentimentogram_cli.analyser import Analyser

        _analyser = Analyser(device="cpu", asr_model="base")
    words = _analyser.transcribe(audio, language=language).words
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([w.__dict__ for w in words]))
    return words


CPU = {"seconds": 0.0, "audio": 0.0}


def measure(audio: np.ndarray, words: list[Word]):
    """Praat's raw measures of each word (the costly part), CPU-timed."""
    from sentimentogram_cli.prosody import WordSpan, measure_words

    t = time.process_time()
    out = measure_words(chunks(audio), len(audio), [WordSpan(w.start, w.end, w.text) for w in words])
    CPU["seconds"] += time.process_time() - t
    CPU["audio"] += len(audio) / SAMPLE_RATE
    return out


def score(measures, words: list[Word]):
    """Each word against the recording's running baseline, as ``prosody.word_prosody`` does."""
    from sentimentogram_cli.prosody import against_baseline

    t = time.process_time()
    out = against_baseline(measures, [(w.start + w.end) / 2 for w in words], [w.end - w.start for w in words],
                           [None] * len(words))
    CPU["seconds"] += time.process_time() - t
    return out


def norm(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


# ---- the boost check --------------------------------------------------------------------------

def ravdess_clips(actors: tuple[int, ...], n: int) -> list[tuple[Path, str]]:
    out = []
    for k in range(n):
        actor = actors[k % len(actors)]
        code = EMOTION_CODES[k % len(EMOTION_CODES)]
        statement = "01" if (k // len(actors)) % 2 == 0 else "02"
        repetition = "01" if k % 3 else "02"
        out.append((SPEECH / f"ravdess/Actor_{actor:02d}/03-01-{code}-01-{statement}-{repetition}-{actor:02d}.opus",
                    "en"))
    return out


def nemo_clips(speakers: tuple[str, ...], per_speaker: int, seed: int = 0) -> list[tuple[Path, str]]:
    with (SPEECH / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["corpus"] == "nemo"]
    rng = np.random.default_rng(seed)
    out = []
    for s in speakers:
        mine = sorted(r["path"] for r in rows if r["speaker"] == f"nemo-{s}")
        out += [(SPEECH / mine[i], "pl") for i in rng.choice(len(mine), per_speaker, replace=False)]
    return out


def _sounding(audio: np.ndarray, w: Word, floor_db: float = -20.0) -> bool:
    """Whether Whisper's span of ``w`` holds speech: its loud frames within ``floor_db`` of the
    clip's (a span misplaced into a pause would boost silence, not the word)."""
    frame = SAMPLE_RATE // 100
    def loud(x):
        n = len(x) // frame
        return float(np.percentile(np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12), 80)) if n else 0.0
    part = audio[int(w.start * SAMPLE_RATE): int(w.end * SAMPLE_RATE)].astype(np.float64)
    return 20 * np.log10(loud(part) + 1e-12) >= 20 * np.log10(loud(audio.astype(np.float64)) + 1e-12) + floor_db


def boost_trial(path: Path, language: str | None, turn: int, db: float) -> dict:
    """Boost one content word of the clip (4+ letters, at least 0.15 s, a span that holds speech;
    the clips take turns in which), transcribe again, and see whether it is the emphasised word."""
    audio = decode(path)
    words = transcribe(audio, language)
    content = [w for w in words if len(norm(w.text)) >= 4 and w.end - w.start >= 0.15 and _sounding(audio, w)]
    if not content:
        return {"clip": path.name, "error": "no content word with a sounding span recognised"}
    target = content[turn % len(content)]
    before = score(measure(audio, words), words)[words.index(target)].prosody
    loud = boost(audio, target.start, target.end, db)
    again = transcribe(loud, language)
    if not again:
        return {"clip": path.name, "error": "nothing recognised after the boost"}
    overlap = [max(0.0, min(w.end, target.end) - max(w.start, target.start)) for w in again]
    k = int(np.argmax(overlap))
    measures = measure(loud, again)
    results = score(measures, again)
    top = int(np.argmax([r.emphasis for r in results]))
    return {"clip": path.name, "word": target.text.strip(), "found": again[k].text.strip(),
            "emphasis": results[k].emphasis, "top": again[top].text.strip(), "top_emphasis": results[top].emphasis,
            "emphasised": results[k].emphasised, "n_emphasised": sum(r.emphasised for r in results),
            "passed": top == k and results[k].emphasised, "index": k, "measures": measures, "words": again,
            "db_before": before.loudness_db if before else None,
            "db_after": results[k].prosody.loudness_db if results[k].prosody else None}


# ---- talks ----------------------------------------------------------------------------------

def ravdess_talk(actor: int, expressive: bool = False) -> tuple[str, np.ndarray, str]:
    """One actor's takes joined: neutral and calm (ordinary speech), or every emotion at normal
    intensity (expressive: each sentence in another emotion)."""
    codes = EMOTION_CODES if expressive else ("01", "02")
    rels = [f"ravdess/Actor_{actor:02d}/03-01-{c}-01-{s}-{r}-{actor:02d}.opus"
            for c in codes for s in ("01", "02") for r in ("01", "02")][:: 2 if expressive else 1]
    name = f"ravdess-{actor:02d}" + (" expressive" if expressive else "")
    return name, join([decode(SPEECH / r) for r in rels], seed=actor), "en"


def nemo_talk(speaker: str, expressive: bool = False) -> tuple[str, np.ndarray, str]:
    """12 sentences of one nEMO speaker: neutral ones (ordinary speech), or of every emotion."""
    with (SPEECH / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] == f"nemo-{speaker}"
                and (expressive or r["label"] == "neutral")]
    rng = np.random.default_rng(1)
    paths = sorted(r["path"] for r in rows)
    clips = [decode(SPEECH / paths[i]) for i in rng.choice(len(paths), 12, replace=False)]
    return f"nemo-{speaker}" + (" expressive" if expressive else ""), join(clips, seed=2), "pl"


def talk_shares(talks, flat: bool) -> list[dict]:
    rows = []
    for name, audio, language in talks:
        words = transcribe(audio, language)
        if flat:
            audio = flatten(audio, words)
            words = transcribe(audio, language)
        measures = measure(audio, words)
        results = score(measures, words)
        rows.append({"talk": name + (" (flat)" if flat else ""), "seconds": len(audio) / SAMPLE_RATE,
                     "words": len(words), "emphasised": sum(r.emphasised for r in results),
                     "measures": measures, "list": words})
    return rows


# ---- tuning on validation data ----------------------------------------------------------------

def _rescored(measures, words, seconds: float, units) -> list[float]:
    from sentimentogram_cli.prosody import emphasis as module

    module.BASELINE_SECONDS = seconds
    results = score(measures, words)
    return [0.0 if r.prosody is None else module.emphasis_of(r.prosody, w.end - w.start, units)
            for r, w in zip(results, words)]


def tune(db: float) -> None:
    """The grid on validation speakers (never the test ones): boost check and share emphasised."""
    from sentimentogram_cli.prosody import emphasis as module

    default_seconds = module.BASELINE_SECONDS
    clips = ravdess_clips(TUNE_ACTORS, 16) + nemo_clips(TUNE_NEMO, 4, seed=7)
    trials = [boost_trial(p, lang, k, db) for k, (p, lang) in enumerate(clips)]
    trials = [t for t in trials if "error" not in t]
    ordinary = talk_shares([ravdess_talk(a) for a in (1, 2, 3, 4)] + [nemo_talk(s) for s in TUNE_NEMO], False)
    lively = talk_shares([ravdess_talk(a, True) for a in (1, 2)] + [nemo_talk(TUNE_NEMO[0], True)], False)
    print(f"validation: {len(trials)} boosted clips; ordinary talks {sum(t['words'] for t in ordinary)} words, "
          f"expressive talks {sum(t['words'] for t in lively)} words")
    print("| baseline s | dB unit | semitone unit | octave unit | threshold | boosted word top & emphasised "
          "| share ordinary | share expressive |\n|---|---|---|---|---|---|---|---|")
    for seconds in (6.0, 15.0):
        for units in [(d, st, o) for d in (2.0, 3.0, 4.0) for st in (4.0, 6.0, 9.0) for o in (1.0, 1.5, 2.5)]:
            scored = [(_rescored(t["measures"], t["words"], seconds, units), t["index"]) for t in trials]
            e_ord = np.concatenate([_rescored(t["measures"], t["list"], seconds, units) for t in ordinary])
            e_liv = np.concatenate([_rescored(t["measures"], t["list"], seconds, units) for t in lively])
            for threshold in (0.7, 0.75, 0.8, 0.85, 0.9):
                passed = sum(int(np.argmax(e)) == k and e[k] >= threshold for e, k in scored)
                print(f"| {seconds:g} | {units[0]} | {units[1]} | {units[2]} | {threshold} | {passed}/{len(scored)} "
                      f"| {np.mean(e_ord >= threshold):.1%} | {np.mean(e_liv >= threshold):.1%} |")
    module.BASELINE_SECONDS = default_seconds


# ---- whole render ---------------------------------------------------------------------------

def render_cost() -> None:
    """CPU of the prosody stage against the whole render of render_vs_whisper.py's 5-min talk."""
    from word_accuracy import joined_talks, render_talk

    render_cpu, words, audio = render_talk(joined_talks(decode), ["--format", "html", "--format", "json"])
    CPU["seconds"] = CPU["audio"] = 0.0
    score(measure(audio, words), words)
    print(f"\nrender of a {len(audio) / SAMPLE_RATE:.0f} s talk ({len(words)} words): {render_cpu:.1f} CPU s, whole "
          f"process; prosody stage on its words {CPU['seconds']:.2f} CPU s = {CPU['seconds'] / render_cpu:.1%} "
          f"of the render (target <= 3%)")


# ---- report ---------------------------------------------------------------------------------

def boost_table(name: str, clips: list[tuple[Path, str | None]], db: float) -> None:
    """Print the boost check on ``clips``, one row per clip, and the count that passed."""
    print(f"## Boost check, {name}: one word +{db:g} dB\n\n| clip | boosted | recognised as | its loudness "
          f"against the baseline, before → after (dB) | its emphasis | top word (emphasis) | emphasised words | pass |"
          f"\n|---|---|---|---|---|---|---|---|")
    passed = 0
    for k, (path, language) in enumerate(clips):
        t = boost_trial(path, language, k, db)
        if "error" in t:
            print(f"| {t['clip']} | – | {t['error']} | | | | | no |")
            continue
        passed += t["passed"]
        change = " → ".join("–" if x is None else f"{x:+.1f}" for x in (t["db_before"], t["db_after"]))
        print(f"| {t['clip']} | {t['word']} | {t['found']} | {change} | {t['emphasis']:.2f} | {t['top']} "
              f"({t['top_emphasis']:.2f}) | {t['n_emphasised']} | {'yes' if t['passed'] else 'no'} |")
    print(f"\n**{passed} of {len(clips)}** clips: the boosted word has the highest emphasis and is emphasised "
          f"(target: 13 of 16)\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boost", type=float, default=8.0, help="dB added to the chosen word")
    parser.add_argument("--tune", action="store_true", help="print the validation grid instead")
    parser.add_argument("--render", action="store_true", help="also time a whole render of a 5-min talk")
    parser.add_argument("--clips", nargs="*", type=Path, help="your own clips for the boost check")
    parser.add_argument("--language", default=None, help="their language (default: detected)")
    parser.add_argument("--nemo", action="store_true", help="also the boost check on 16 nEMO clips of the test speakers")
    parser.add_argument("--boost-only", action="store_true", help="only the boost check (no talks)")
    args = parser.parse_args(argv)
    if args.tune:
        return tune(args.boost)
    print(f"emphasis threshold {EMPHASIS_THRESHOLD}; units {EMPHASIS_DB} dB, {EMPHASIS_SEMITONES} st, "
          f"{EMPHASIS_OCTAVES} octave of duration\n")
    if args.clips:
        boost_table("your clips", [(p, args.language) for p in args.clips], args.boost)
    else:
        boost_table("RAVDESS actors 17-20", ravdess_clips(TEST_ACTORS, 16), args.boost)
        if args.nemo:
            boost_table("nEMO speakers WR0, TP0 (Polish)", nemo_clips(TEST_NEMO, 8, seed=11), args.boost)
    if args.boost_only:
        return
    if not args.clips:
        talks = [ravdess_talk(a) for a in TEST_ACTORS] + [nemo_talk(s) for s in TEST_NEMO]
        talks.append(("jfk", decode(DATA / "examples" / "jfk.flac"), "en"))
        lively = [ravdess_talk(a, True) for a in TEST_ACTORS] + [nemo_talk(s, True) for s in TEST_NEMO]
        print("## Share of words emphasised\n\n| talk | seconds | words | emphasised | share |\n|---|---|---|---|---|")
        for flat, group in ((False, talks), (True, talks), (False, lively)):
            rows = talk_shares(group, flat)
            for r in rows:
                print(f"| {r['talk']} | {r['seconds']:.0f} | {r['words']} | {r['emphasised']} | "
                      f"{r['emphasised'] / max(1, r['words']):.1%} |")
            words, emphasised = sum(r["words"] for r in rows), sum(r["emphasised"] for r in rows)
            kind = "flat" if flat else ("expressive" if group is lively else "ordinary")
            print(f"| **all {kind}** | | {words} | {emphasised} | **{emphasised / max(1, words):.1%}** |")
    print(f"\nCost: {CPU['seconds']:.2f} CPU s of prosody for {CPU['audio'] / 60:.1f} min of audio = "
          f"{CPU['seconds'] / max(CPU['audio'] / 60, 1e-9):.2f} CPU s per minute")
    if args.render:
        render_cost()


if __name__ == "__main__":
    main()
