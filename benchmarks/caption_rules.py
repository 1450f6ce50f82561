"""Captions against the subtitle rules (issue 19): per recording and in total, each rule's
violations and the share of cues breaking any, for the cues of ``captions`` (after) and for one
cue per recogniser line (before: Whisper's segments cut at 0.3 s pauses, what every export
showed until this version).

    python benchmarks/caption_rules.py              # 12 recordings (~2-4 min on 2 cores the first time)
    python benchmarks/caption_rules.py --cps 15     # another reading speed (the child preset's)
    python benchmarks/caption_rules.py --show NAME  # print the cues of one recording

Recordings, built from ``../shared/data/emotional_speech`` (clips trimmed to their speech by
energy, joined by pauses drawn per join):
- talks (one speaker, pauses 0.2-0.6 s): RAVDESS actors 9-12 (12 clips each), nEMO MK0 and SM0
  (10 Polish sentences each), TESS YAF (14 "Say the word ..." clips);
- conversations (two speakers taking turns, pauses 0.1-0.7 s; one turn in five cut to its first
  0.35 or 0.6 s of speech, a one- or two-word answer): RAVDESS actors 13+14 and 15+16, nEMO
  TP0+WR0, TESS OAF+YAF; each word carries its true speaker (the turn its middle falls in), as
  the speakers stage would give it;
- the examples: ``examples/ravdess_actor18.mp4`` (seven sentences) and ``jfk.flac``.
Words come from the render's recogniser (Whisper base, ``Analyser.transcribe``), cached under
.cache/benchmarks/caption_rules/ by audio and transcription code. No setting of ``captions``
was tuned on these recordings (the costs were set on the hand-made lists of
tests/test_captions.py).

Rules (``captions.check``): chars (a line over 42), lines (over 2), short (under 5/6 s), long
(over 7 s), speed (over the reading speed), overlap; apart: gap (between 0 and 2 frames),
one_word (a one-word cue inside an utterance), speaker (a cue across two speakers), and
``forced``: speed breaches the speech itself forced (even shown over every gap around its words,
the cue reads faster than the limit; only dropping words would meet it), and short cues the
words around them forced (the previous cue's last word and the next cue's first word closer than
5/6 s, as for a one-word turn between two other speakers' turns). The bundled example
also reports how many words lie inside their true sentence (``examples/ravdess_actor18.csv``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentimentogram_cli.captions import RULES, CaptionRules, check_cues, cut_cues, line_text  # noqa: E402
from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402
from sentimentogram_cli.document import Cue  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SPEECH = DATA / "emotional_speech"
CACHE = ROOT / ".cache" / "benchmarks" / "caption_rules"
UTTERANCE_GAP = 0.3  # what cut recogniser lines before (emotion.windows.UTTERANCE_GAP_SECONDS)
COLUMNS = (*RULES, "gap", "one_word", "speaker")


@dataclass
class TimedWord:
    text: str
    start: float
    end: float
    speaker: str | None = None


@dataclass
class Recording:
    name: str
    kind: str  # talk, conversation, example
    audio: np.ndarray
    turns: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, speaker)


# ---- recordings -------------------------------------------------------------------------------

def _rows() -> dict[str, list[dict]]:
    by_speaker: dict[str, list[dict]] = {}
    with (SPEECH / "labels.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_speaker.setdefault(row["speaker"], []).append(row)
    return {k: sorted(v, key=lambda r: r["path"]) for k, v in by_speaker.items()}


def _trimmed(path: Path) -> np.ndarray:
    from sentimentogram_cli.media import decode_audio

    audio = decode_audio(path)
    frame = SAMPLE_RATE // 100
    rms = np.sqrt(np.mean(audio[: len(audio) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > max(rms.max() * 0.06, 1e-4))
    a, b = max(0, (loud[0] - 3) * frame), min(len(audio), (loud[-1] + 4) * frame)
    return audio[a:b]


def _join(name: str, kind: str, clips: list[tuple[np.ndarray, str]], rng, pause: tuple[float, float]) -> Recording:
    parts, turns, t = [np.zeros(SAMPLE_RATE // 2, np.float32)], [], 0.5
    for clip, speaker in clips:
        turns.append((t, t + len(clip) / SAMPLE_RATE, speaker))
        gap = float(rng.uniform(*pause))
        parts += [clip.astype(np.float32), np.zeros(int(gap * SAMPLE_RATE), np.float32)]
        t += len(clip) / SAMPLE_RATE + gap
    audio = np.concatenate(parts + [np.zeros(SAMPLE_RATE // 2, np.float32)])
    audio += np.random.default_rng(len(name)).normal(0, 10 ** (-80 / 20), len(audio)).astype(np.float32)
    return Recording(name, kind, audio, turns)


def _talk(name: str, speaker: str, n: int, rows, rng) -> Recording:
    picked = [rows[speaker][int(i)] for i in rng.choice(len(rows[speaker]), n, replace=False)]
    return _join(name, "talk", [(_trimmed(SPEECH / r["path"]), speaker) for r in picked], rng, (0.2, 0.6))


def _conversation(name: str, speakers: tuple[str, str], n: int, rows, rng) -> Recording:
    clips = []
    for i in range(n):
        speaker = speakers[i % 2]
        clip = _trimmed(SPEECH / rows[speaker][int(rng.integers(len(rows[speaker])))]["path"])
        if i % 5 == 2:  # a one- or two-word answer: the turn's first 0.35 or 0.6 s of speech
            clip = clip[: int(float(rng.choice([0.35, 0.6])) * SAMPLE_RATE) + 480].copy()
            clip[-160:] *= np.linspace(1, 0, 160, dtype=np.float32)
        clips.append((clip, speaker))
    return _join(name, "conversation", clips, rng, (0.1, 0.7))


def recordings(quick: bool = False) -> list[Recording]:
    from sentimentogram_cli.media import decode_audio

    rows, rng = _rows(), np.random.default_rng(19)
    out = [Recording("example-ravdess18", "example", decode_audio(ROOT / "examples" / "ravdess_actor18.mp4")),
           Recording("example-jfk", "example", decode_audio(DATA / "examples" / "jfk.flac"))]
    talks = [("talk-ravdess09", "ravdess-09", 12), ("talk-ravdess10", "ravdess-10", 12),
             ("talk-ravdess11", "ravdess-11", 12), ("talk-ravdess12", "ravdess-12", 12),
             ("talk-nemo-MK0", "nemo-MK0", 10), ("talk-nemo-SM0", "nemo-SM0", 10), ("talk-tess-YAF", "tess-YAF", 14)]
    chats = [("chat-ravdess13-14", ("ravdess-13", "ravdess-14"), 14), ("chat-ravdess15-16", ("ravdess-15", "ravdess-16"), 14),
             ("chat-nemo-TP0-WR0", ("nemo-TP0", "nemo-WR0"), 12), ("chat-tess", ("tess-OAF", "tess-YAF"), 14)]
    if quick:
        talks, chats = talks[:1] + talks[4:5], chats[:1]
    out += [_talk(name, spk, n, rows, rng) for name, spk, n in talks]
    out += [_conversation(name, spks, n, rows, rng) for name, spks, n in chats]
    return out


# ---- words ------------------------------------------------------------------------------------

def _code_hash() -> str:
    h = hashlib.sha256()
    for f in sorted((ROOT / "sentimentogram_cli" / "transcription").glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def transcribe(rec: Recording, analyser) -> list[list[TimedWord]]:
    """The recording's recogniser segments as lists of words (cached)."""
    key = hashlib.sha256(rec.audio.tobytes() + _code_hash().encode() + analyser.asr_model.encode()).hexdigest()[:20]
    path = CACHE / f"{rec.name}-{key}.json"
    if path.is_file():
        segments = json.loads(path.read_text())
    else:
        transcript = analyser.transcribe(rec.audio)
        segments = [[[w.text, w.start, w.end] for w in s.words] for s in transcript.segments if s.words]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(segments))
    out = []
    for seg in segments:
        words = []
        for text, start, end in seg:
            mid = (start + end) / 2
            owner = min(rec.turns, key=lambda t: 0 if t[0] <= mid <= t[1] else min(abs(mid - t[0]), abs(mid - t[1])),
                        default=None)
            words.append(TimedWord(text, start, end, owner[2] if owner and rec.kind == "conversation" else None))
        out.append(words)
    return out


def before_cues(segments: list[list[TimedWord]]) -> tuple[list[TimedWord], list[Cue]]:
    """One cue per recogniser line, as the exports had it: a segment's words cut at pauses of
    UTTERANCE_GAP, shown from its first word's start to its last word's end, one line."""
    words, cues = [], []
    for seg in segments:
        first = len(words)
        for k, w in enumerate(seg):
            if k and w.start - seg[k - 1].end >= UTTERANCE_GAP:
                cues.append(Cue(words[first].start, max(words[-1].end, words[first].start + 0.01), [[first, len(words)]]))
                first = len(words)
            words.append(w)
        cues.append(Cue(words[first].start, max(words[-1].end, words[first].start + 0.01), [[first, len(words)]]))
    return words, cues


# ---- scoring ----------------------------------------------------------------------------------

def score(words, cues, rules: CaptionRules) -> Counter:
    reports = check_cues(words, cues, rules)
    c = Counter(cues=len(cues), any=sum(r.breaks_rules for r in reports),
                forced=sum("forced_speed" in r.broken for r in reports),
                forced_short=sum("forced_short" in r.broken for r in reports),
                single=sum(len(cue.word_indices()) == 1 for cue in cues))
    for r in reports:
        c.update(r.broken & set(COLUMNS))
    return c


def _row(name: str, c: Counter) -> str:
    cells = [str(c[k]) for k in COLUMNS]
    share = 100 * c["any"] / c["cues"] if c["cues"] else 0.0
    cells[2] += f" ({c['forced_short']})"
    return (f"| {name} | {c['cues']} | " + " | ".join(cells[:5]) + f" ({c['forced']}) | " + " | ".join(cells[5:])
            + f" | {c['single']} | **{c['any']} ({share:.1f}%)** |")


def table(rows: list[tuple[str, Counter]], groups: dict[str, str]) -> str:
    head = ("| recording | cues | chars > 42 | lines > 2 | < 5/6 s (forced) | > 7 s | > cps (forced) | overlap | gap < 2 fr | "
            "one-word inside | across speakers | one-word cues | breaking a rule |\n|" + "---|" * 13)
    out, totals = [head], {}
    for name, c in rows:
        out.append(_row(name, c))
        totals.setdefault(groups[name], Counter()).update(c)
    for group, c in totals.items():
        out.append(_row(f"*{group}s*", c))
    out.append(_row("**total**", sum(totals.values(), Counter())))
    return "\n".join(out)


def example_sentences(words: list[TimedWord]) -> tuple[int, int]:
    """(words inside their true sentence, words) on the bundled example: the sentence each
    word's middle falls in must be the one the word belongs to, by its order in the transcript
    (each sentence's words follow one another)."""
    truth = [(float(r["start"]), float(r["end"]), r["text"]) for r in
             csv.DictReader((ROOT / "examples" / "ravdess_actor18.csv").open(encoding="utf-8"))]
    inside = 0
    for w in words:
        mid = (w.start + w.end) / 2
        inside += any(a <= mid <= b for a, b, _ in truth)
    return inside, len(words)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 recordings instead of 13")
    parser.add_argument("--cps", type=float, default=20.0, help="reading speed, characters a second (default 20)")
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--show", metavar="NAME", help="print the cues of this recording")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    if not (SPEECH / "labels.csv").is_file():
        raise SystemExit(f"needs the shared data at {SPEECH}")
    from sentimentogram_cli.analyser import Analyser

    analyser, rules = Analyser(asr_model=args.asr_model), CaptionRules(max_cps=args.cps)
    before, after, groups, seconds = [], [], {}, 0.0
    for rec in recordings(args.quick):
        segments = transcribe(rec, analyser)
        words, old = before_cues(segments)
        duration = len(rec.audio) / SAMPLE_RATE
        new = cut_cues(words, rules, duration)
        seconds += duration
        groups[rec.name] = rec.kind
        before.append((rec.name, score(words, old, rules)))
        after.append((rec.name, score(words, new, rules)))
        if rec.name == "example-ravdess18":
            inside, total = example_sentences(words)
            print(f"bundled example: {inside} of {total} words inside their true sentence")
        if args.show == rec.name:
            for cue, rep in zip(new, check_cues(words, new, rules)):
                print(f"{cue.start:7.2f} {cue.end:7.2f} {rep.cps:5.1f} {','.join(sorted(rep.broken)):20s} "
                      + " / ".join(line_text(words, a, b) for a, b in cue.lines))
    print(f"\n{len(groups)} recordings, {seconds:.0f} s; reading speed {args.cps:g} characters a second\n")
    print("### Before: one cue per recogniser line\n")
    print(table(before, groups))
    print("\n### After: captions (cues by the subtitle rules)\n")
    print(table(after, groups))
    if args.json:
        args.json.write_text(json.dumps({"before": before, "after": after}, indent=1))


if __name__ == "__main__":
    main()
