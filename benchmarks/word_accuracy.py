"""Word timing and per-word emotion on talks with known utterance spans and labels (issue 11).

    python benchmarks/word_accuracy.py                 # 7 talks, both window designs (~5-8 min on 2 cores)
    python benchmarks/word_accuracy.py --quick         # 3 talks
    python benchmarks/word_accuracy.py --decode condition_on_previous_text=true --windows global

Talks are built from RAVDESS actors 17-20 (the speakers the shipped head never saw), strong takes,
one clip per utterance, consecutive utterances with different emotions: both sentence orders
("Kids…" first or "Dogs…" first, alternating), pauses of 0.3, 0.8 and 2.0 s, and one talk where the
same sentence repeats back to back. Each clip's true span comes from its own energy (20 ms frames
within 35 dB of the clip's loudest), never from the recogniser. Noise at -80 dBFS (about the
clips' own background) is laid under the whole talk so the pauses are not digital silence.

Per talk and in total it prints: utterances with no word, words shorter than 40 ms, words whose
midpoint lies outside every true span, per-word emotion accuracy, accuracy of the first two
words of each utterance and of the rest, utterance (majority-of-words) accuracy. Words are
matched to the true utterance that holds their midpoint (else the nearest). Transcripts are
cached under .cache/benchmarks/ keyed by the talk, the decode settings and the transcription
code, so rerunning with another window design costs only the emotion stage.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import inspect
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentimentogram_cli.document import Segment, Word  # noqa: E402
from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "emotional_speech"
CACHE = ROOT / ".cache" / "benchmarks" / "word_accuracy"
ACTORS = (17, 18, 19, 20)
# RAVDESS emotion codes; neutral (01) has no strong take, so calm (02) stands for it (label neutral).
CODES = ("02", "03", "04", "05", "06", "07", "08")
FRAME = SAMPLE_RATE // 50
MIN_WORD = 0.04
UTTERANCES_PER_TALK = 14


@dataclass
class Utterance:
    start: float  # true speech span in the talk (s)
    end: float
    label: str
    text: str
    clip: str


@dataclass
class Talk:
    name: str
    audio: np.ndarray
    utterances: list[Utterance]


def speech_span(clip: np.ndarray, floor_db: float = -35.0) -> tuple[int, int]:
    """Samples [a, b) from the first to the last 20 ms frame within ``floor_db`` of the loudest."""
    n = len(clip) // FRAME
    rms = np.sqrt(np.mean(clip[: n * FRAME].reshape(n, FRAME).astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    return int(loud[0] * FRAME), int((loud[-1] + 1) * FRAME)


def _labels() -> dict[str, dict]:
    with (DATA / "labels.csv").open(newline="", encoding="utf-8") as f:
        return {row["path"]: row for row in csv.DictReader(f)}


def talk_plan(quick: bool = False) -> list[tuple[str, float, str]]:
    """(name, pause seconds, statement order) per talk; order "kd"/"dk" alternates, "kk" repeats."""
    if quick:
        return [("p0.3-kd", 0.3, "kd"), ("p0.8-dk", 0.8, "dk"), ("repeat-p0.8", 0.8, "kk")]
    return [(f"p{p}-{o}", p, o) for p in (0.3, 0.8, 2.0) for o in ("kd", "dk")] + [("repeat-p0.8", 0.8, "kk")]


def _emotion_order(rng: np.random.Generator, n: int) -> list[str]:
    """Each code twice, shuffled until no two neighbours share an emotion."""
    while True:
        order = list(rng.permutation(list(CODES) * (n // len(CODES))))
        if all(a != b for a, b in zip(order, order[1:])):
            return order


def build_talk(name: str, pause: float, order: str, index: int, labels: dict, decode) -> Talk:
    rng = np.random.default_rng(1000 + index)
    codes = _emotion_order(rng, UTTERANCES_PER_TALK)
    pieces, utterances, t = [], [], 0.0
    edge = min(0.15, pause / 2)  # the clip's own quiet kept on each side of its speech
    for i, code in enumerate(codes):
        actor = ACTORS[(i + index) % len(ACTORS)]
        statement = "01" if order == "kk" else ("01" if (i % 2 == 0) == (order == "kd") else "02")
        repetition = "01" if (i // len(ACTORS) + index) % 2 == 0 else "02"
        rel = f"ravdess/Actor_{actor:02d}/03-01-{code}-02-{statement}-{repetition}-{actor:02d}.opus"
        clip = decode(DATA / rel)
        a, b = speech_span(clip)
        pad = int(edge * SAMPLE_RATE)
        piece = clip[max(0, a - pad): b + pad]
        lead = (a - max(0, a - pad)) / SAMPLE_RATE
        if i:
            gap = pause - lead - edge  # previous piece ended `edge` after its speech
            pieces.append(np.zeros(int(round(max(0.0, gap) * SAMPLE_RATE)), np.float32))
            t += max(0.0, gap)
        start = t + lead
        utterances.append(Utterance(round(start, 3), round(start + (b - a) / SAMPLE_RATE, 3),
                                    labels[rel]["label"], labels[rel]["text"], rel))
        pieces.append(piece.astype(np.float32))
        t += len(piece) / SAMPLE_RATE
    audio = np.concatenate(pieces)
    audio = audio + np.random.default_rng(index).normal(0, 10 ** (-80 / 20), len(audio)).astype(np.float32)
    return Talk(name, audio.astype(np.float32), utterances)


def joined_talks(decode, n_talks: int | None = None) -> np.ndarray:
    """The first ``n_talks`` talks of the full plan (all by default) back to back, 0.8 s apart:
    the long talk the speed, emphasis and speaker-cost benchmarks render."""
    labels = _labels()
    talks = [build_talk(n, p, o, i, labels, decode) for i, (n, p, o) in enumerate(talk_plan(False)[:n_talks])]
    gap = np.zeros(int(0.8 * SAMPLE_RATE), np.float32)
    return np.concatenate([x for t in talks for x in (t.audio, gap)][:-1])


def render_talk(audio: np.ndarray, args: list[str]) -> tuple[float, list[Word], np.ndarray]:
    """``sentimentogram render`` of ``audio`` (written as 16-bit WAV) with ``args`` and its JSON
    output, in a child process: (its CPU seconds, the words it found, the audio as the WAV holds
    it). The speaker-cost and emphasis benchmarks set a stage's cost against this."""
    import resource
    import subprocess
    import tempfile

    import soundfile

    with tempfile.TemporaryDirectory() as tmp:
        wav, out = Path(tmp) / "talk.wav", Path(tmp) / "out"
        soundfile.write(wav, audio, SAMPLE_RATE, subtype="PCM_16")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run([sys.executable, "-m", "sentimentogram_cli", "render", str(wav), *args, "--no-cache",
                               "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        doc = json.loads(out.with_suffix(".json").read_text())
        written = soundfile.read(wav, dtype="float32")[0]
    words = [Word(w["text"], w["start"], w["end"], w["probability"]) for line in doc["lines"] for w in line["words"]]
    return cpu, words, written


def build_talks(quick: bool) -> list[Talk]:
    from sentimentogram_cli.media import decode_audio

    labels = _labels()
    return [build_talk(n, p, o, i, labels, decode_audio) for i, (n, p, o) in enumerate(talk_plan(quick))]


# ---- transcription (cached) -----------------------------------------------------------------

def _code_hash() -> str:
    files = [ROOT / "sentimentogram_cli" / "transcribe.py"]
    files += sorted((ROOT / "sentimentogram_cli" / "transcription").glob("*.py"))
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def transcribe_talk(talk: Talk, model: str, decode: dict, use_cache: bool = True) -> tuple[list[Segment], float, str]:
    """(segments, seconds spent, language) for the talk, from the cache when it holds them."""
    try:
        from sentimentogram_cli.transcription import transcribe as tr
    except ImportError:  # a checkout before the transcription package
        from sentimentogram_cli import transcribe as tr

    key = hashlib.sha256(json.dumps({"audio": hashlib.sha256(talk.audio.tobytes()).hexdigest(), "model": model,
                                     "decode": decode, "code": _code_hash()}, sort_keys=True).encode()).hexdigest()[:24]
    path = CACHE / f"{talk.name}-{key}.json"
    if use_cache and path.is_file():
        data = json.loads(path.read_text())
        segments = [Segment(s["start"], s["end"], s["text"], [Word(**w) for w in s["words"]]) for s in data["segments"]]
        return segments, data["seconds"], data["language"]
    t0 = time.perf_counter()
    kwargs = {"decode": decode} if decode else {}
    transcript = tr.transcribe(talk.audio, model_name=model, **kwargs)
    seconds = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"segments": [asdict(s) for s in transcript.segments], "seconds": seconds,
                                "language": transcript.language}))
    return transcript.segments, seconds, transcript.language


# ---- scoring ----------------------------------------------------------------------------------

def _owner(utterances: list[Utterance], mid: float) -> tuple[int, bool]:
    """(index of the utterance holding ``mid`` or the nearest one, whether it holds it)."""
    for i, u in enumerate(utterances):
        if u.start <= mid <= u.end:
            return i, True
    dist = [min(abs(mid - u.start), abs(mid - u.end)) for u in utterances]
    return int(np.argmin(dist)), False


def score(talk: Talk, lines) -> dict:
    """The figures for one talk from its analysed lines (words carry .emotion.emotion)."""
    words = sorted((w for line in lines for w in line.words), key=lambda w: (w.start, w.end))
    per_utt: list[list] = [[] for _ in talk.utterances]
    outside = short = 0
    for w in words:
        i, inside = _owner(talk.utterances, (w.start + w.end) / 2)
        outside += not inside
        short += (w.end - w.start) < MIN_WORD - 1e-9
        per_utt[i].append(w)
    correct = first_ok = first_n = rest_ok = rest_n = utt_ok = empty = 0
    for u, ws in zip(talk.utterances, per_utt):
        if not ws:
            empty += 1
            continue
        hits = [w.emotion.emotion == u.label for w in ws]
        correct += sum(hits)
        first_ok, first_n = first_ok + sum(hits[:2]), first_n + len(hits[:2])
        rest_ok, rest_n = rest_ok + sum(hits[2:]), rest_n + len(hits[2:])
        utt_ok += Counter(w.emotion.emotion for w in ws).most_common(1)[0][0] == u.label
    return {"utterances": len(talk.utterances), "spoken_words": sum(len(u.text.split()) for u in talk.utterances),
            "words": len(words), "no_word": empty, "short": short, "outside": outside, "correct": correct,
            "first_ok": first_ok, "first_n": first_n, "rest_ok": rest_ok, "rest_n": rest_n, "utt_ok": utt_ok}


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}" if b else "–"


def table(rows: list[tuple[str, dict]]) -> str:
    head = ("| talk | utterances | words found / spoken | utterances with no word | words < 40 ms | "
            "words outside true speech (%) | word emotion acc. (%) | first two words (%) | rest (%) | "
            "utterance acc. |\n|---|---|---|---|---|---|---|---|---|---|")
    out = [head]
    total = Counter()
    for name, s in rows:
        total.update(s)
        out.append(_row(name, s))
    out.append(_row("**total**", total))
    return "\n".join(out)


def _row(name: str, s) -> str:
    return (f"| {name} | {s['utterances']} | {s['words']} / {s['spoken_words']} | {s['no_word']} | {s['short']} | "
            f"{s['outside']} ({_pct(s['outside'], s['words'])}) | {_pct(s['correct'], s['words'])} | "
            f"{_pct(s['first_ok'], s['first_n'])} | {_pct(s['rest_ok'], s['rest_n'])} | "
            f"{s['utt_ok']}/{s['utterances']} = {s['utt_ok'] / s['utterances']:.2f} |")


# ---- main -------------------------------------------------------------------------------------

def _parse_decode(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value) if value not in ("", None) else None
    return out


def load_models(device: str = "cpu"):
    """(head, audio encoder, text encoder): the shipped head and the encoders it was trained on."""
    try:
        from sentimentogram_cli.analyser import Analyser
    except ImportError:  # an older checkout
        Analyser = None
    if Analyser is not None:
        analyser = Analyser(device=device)
        return analyser.head, analyser.audio_encoder, analyser.text_encoder
    from sentimentogram_cli.assets import head_checkpoint_path
    from sentimentogram_cli.emotion.features import AudioEncoder, TextEncoder
    from sentimentogram_cli.emotion.head import EmotionHead

    head = EmotionHead.load(head_checkpoint_path(), device, text_encoder=TextEncoder.identity)
    return head, AudioEncoder("base", device), TextEncoder(device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 talks instead of 7")
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--decode", nargs="*", default=[], metavar="KEY=JSON",
                        help="transcription settings (transcribe.DecodeOptions fields), e.g. beam_size=1")
    parser.add_argument("--windows", default="both", choices=("both", "utterance", "global"),
                        help="emotion windows within utterances, over the whole speech, or both")
    parser.add_argument("--short", default=None, choices=("tile", "context", "span"),
                        help="utterance design: a short utterance's window filled with its own frames repeated "
                             "(tile), widened into its own pauses (context), or left short (span)")
    parser.add_argument("--gap", type=float, default=None, help="utterance design: the pause that ends an utterance (s)")
    parser.add_argument("--no-cache", action="store_true", help="transcribe again even when cached")
    parser.add_argument("--head-metadata", nargs="*", default=[], metavar="KEY=JSON",
                        help="override the head's metadata for this run (an A/B of its settings), "
                             "e.g. recording_mean_weight=0.5 recording_mean_seconds=0")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    if not (DATA / "labels.csv").is_file():
        raise SystemExit(f"needs the shared data at {DATA}")

    from sentimentogram_cli.emotion.recognise import recognise

    decode = _parse_decode(args.decode)
    t0 = time.perf_counter()
    talks = build_talks(args.quick)
    head, audio_encoder, text_encoder = load_models()
    for key, value in _parse_decode(args.head_metadata).items():
        if not hasattr(head.metadata, key):
            raise SystemExit(f"the head's metadata has no field {key!r}")
        setattr(head.metadata, key, value)
    designs = ("utterance", "global") if args.windows == "both" else (args.windows,)
    rows: dict[str, list] = {d: [] for d in designs}
    asr_seconds = media = 0.0
    for talk in talks:
        segments, seconds, language = transcribe_talk(talk, args.asr_model, decode, not args.no_cache)
        asr_seconds, media = asr_seconds + seconds, media + len(talk.audio) / SAMPLE_RATE
        for design in designs:
            params = inspect.signature(recognise).parameters
            kwargs = {"design": design} if "design" in params or "kwargs" in params else {}
            if design == "utterance":
                kwargs.update({k: v for k, v in (("short", args.short), ("utterance_gap", args.gap)) if v is not None})
            lines = recognise(talk.audio, segments, head, audio_encoder, text_encoder, **kwargs)
            rows[design].append((talk.name, score(talk, lines)))
    settings = ", ".join(f"{k}={v}" for k, v in decode.items()) or "defaults"
    if args.head_metadata:
        settings += "; head metadata " + " ".join(args.head_metadata)
    for design in designs:
        print(f"\n### windows: {design}; words from {args.asr_model} ({settings})\n")
        print(table(rows[design]))
    print(f"\n{len(talks)} talks, {media:.0f} s of audio; transcription {asr_seconds:.0f} s "
          f"(from the cache where it held them); whole run {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"decode": decode, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
