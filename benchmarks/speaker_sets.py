"""The recordings of the speaker benchmark (``benchmarks/speakers.py``, issue 21): the validation
and report sets, built from clips, their cached transcripts and each word's true speaker. Split
from the scoring so the scripts that reuse the dialogues (``speaker_costs.py``,
``speaker_finetune.py``, ``speaker_alternatives.py``, ``segment_runs.py``,
``scripts/fit_speaker_projection.py``) import what they use and nothing else.

Dialogues are built from ``../shared/data/emotional_speech``: each turn is one clip (silence
trimmed by energy) or, for about one turn in five, its first 0.35 s or 0.6 s of speech (a one- or
two-word turn); turns are joined with pauses drawn from 0.3-0.7 s (``GAPS``; ``speakers.py --gaps
0 0.2``: turns that latch, as in conversation). Two-speaker dialogues take
turns mostly in alternation (one turn in eight repeats the last speaker), three-speaker ones in
random order. Emotions are drawn per turn from all eight RAVDESS ones. Monologues: 8 clips of
one speaker. Each recording is transcribed by the render's recogniser (Whisper base, cached
under .cache/benchmarks/speakers/), and each word's true speaker is the turn its middle falls in
(or the nearest turn).

Validation set: RAVDESS actors 1-8, nEMO speakers EB0, IC0, KD0, KS0, six draws of the recipe
(120 monologues, 72 two-speaker and 24 three-speaker dialogues; ``speakers.py --validation-draws
3``: the three draws of round 3's fourth session, 1: the first draw alone, the validation set
before). Report set: RAVDESS actors 9-16 (six mixed-gender and five same-gender pairs), TESS's two
speakers (OAF, YAF: one dialogue, two monologues each), nEMO MK0, MP0, SM0, TP0, WR0.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402
from sentimentogram_cli.document import Segment, Word  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "emotional_speech"
CACHE = ROOT / ".cache" / "benchmarks" / "speakers"


@dataclass
class Turn:
    speaker: str
    path: str
    cut: float | None  # seconds of speech kept (a short turn), None: the whole clip
    label: str


@dataclass
class Recording:
    name: str
    turns: list[Turn]
    audio: np.ndarray
    spans: list[tuple[float, float]]


def _clips() -> dict[str, list[dict]]:
    by_speaker: dict[str, list[dict]] = {}
    with open(DATA / "labels.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_speaker.setdefault(row["speaker"], []).append(row)
    for rows in by_speaker.values():
        rows.sort(key=lambda r: r["path"])
    return by_speaker


def _trimmed(path: str) -> np.ndarray:
    import soundfile as sf

    audio, sr = sf.read(DATA / path, dtype="float32")
    assert sr == SAMPLE_RATE, (path, sr)
    frame = 160
    rms = np.sqrt(np.mean(audio[: len(audio) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > max(rms.max() * 0.06, 1e-4))
    a, b = max(0, (loud[0] - 3) * frame), min(len(audio), (loud[-1] + 4) * frame)
    return audio[a:b]


GAPS = (0.3, 0.7)  # seconds of pause between turns (speakers.py --gaps: e.g. 0 0.2 for latched conversation)


def _build(name: str, turns: list[Turn], rng: np.random.Generator) -> Recording:
    parts, spans, t = [np.zeros(int(0.5 * SAMPLE_RATE), np.float32)], [], 0.5
    for turn in turns:
        clip = _trimmed(turn.path)
        if turn.cut:
            clip = clip[: int(turn.cut * SAMPLE_RATE)]
            fade = np.linspace(1, 0, min(len(clip), 160))
            clip = clip.copy()
            clip[-len(fade):] *= fade
        spans.append((t, t + len(clip) / SAMPLE_RATE))
        gap = rng.uniform(*GAPS)
        parts += [clip, np.zeros(int(gap * SAMPLE_RATE), np.float32)]
        t += len(clip) / SAMPLE_RATE + gap
    parts.append(np.zeros(int(0.5 * SAMPLE_RATE), np.float32))
    return Recording(name, turns, np.concatenate(parts), spans)


def _pick(rows: list[dict], rng) -> dict:
    return rows[int(rng.integers(len(rows)))]


def _label(row: dict) -> str:
    return row["label"]


def dialogue(name: str, speakers: list[str], clips, rng, n_turns: int) -> Recording:
    order, turns = [], []
    for i in range(n_turns):
        if len(speakers) == 2:
            nxt = speakers[i % 2] if not order else (order[-1] if rng.random() < 0.125 else
                                                     [s for s in speakers if s != order[-1]][0])
        else:
            nxt = speakers[i] if i < len(speakers) else str(rng.choice([s for s in speakers if s != order[-1]]))
        order.append(nxt)
    short_every = 5
    for i, s in enumerate(order):
        row = _pick(clips[s], rng)
        cut = None
        if i % short_every == 2:
            cut = float(rng.choice([0.35, 0.6]))
        turns.append(Turn(s, row["path"], cut, _label(row)))
    return _build(name, turns, rng)


def monologue(name: str, speaker: str, clips, rng, n_turns: int = 8) -> Recording:
    rows = [_pick(clips[speaker], rng) for _ in range(n_turns)]
    return _build(name, [Turn(speaker, r["path"], None, _label(r)) for r in rows], rng)
def datasets(seed: int = 21, extra_validation: int = 5) -> dict[str, list[Recording]]:
    """The validation and report recordings; the validation speakers also get ``extra_validation``
    more draws of the same recipe (other seeds, names ``validation<k>-…``), so settings are chosen
    on 3x as many dialogues (the report set is unchanged by them)."""
    clips, rng = _clips(), np.random.default_rng(seed)
    rav = lambda a: f"ravdess-{a:02d}"  # noqa: E731
    out: dict[str, list[Recording]] = {}
    plan = [("validation", "validation", range(1, 9), ["EB0", "IC0", "KD0", "KS0"], rng),
            ("report", "report", range(9, 17), ["MK0", "MP0", "SM0", "TP0", "WR0"], rng)]
    plan += [("validation", f"validation{k + 2}", range(1, 9), ["EB0", "IC0", "KD0", "KS0"],
              np.random.default_rng(seed + 1000 * (k + 1))) for k in range(extra_validation)]
    for split, tag, actors, nemo, rng in plan:
        actors = list(actors)
        mixed = [(a, b) for a, b in itertools.combinations(actors, 2) if (a + b) % 2 == 1]
        same = [(a, b) for a, b in itertools.combinations(actors, 2) if (a + b) % 2 == 0]
        rng.shuffle(mixed)
        rng.shuffle(same)
        pairs = [("mixed", p) for p in mixed[:6]] + [("same", p) for p in same[:5]]
        two = [dialogue(f"{tag}-2-{kind}-{a}-{b}", [rav(a), rav(b)], clips, rng, 10) for kind, (a, b) in pairs]
        if split == "report":
            two.append(dialogue(f"{tag}-2-same-tess", ["tess-OAF", "tess-YAF"], clips, rng, 10))
        else:
            c, d = actors[0], actors[2]
            two.append(dialogue(f"{tag}-2-same-{c}-{d}-b", [rav(c), rav(d)], clips, rng, 10))
        trios = [tuple(int(x) for x in rng.choice(actors, 3, replace=False)) for _ in range(4)]
        three = [dialogue(f"{tag}-3-{'-'.join(map(str, t))}", [rav(a) for a in t], clips, rng, 12) for t in trios]
        mono_speakers = [rav(a) for a in actors] * 2 + [f"nemo-{s}" for s in nemo]
        if split == "report":
            mono_speakers += ["tess-OAF", "tess-YAF"] * 2
        mono = [monologue(f"{tag}-1-{s}-{i}", s, clips, rng) for i, s in enumerate(mono_speakers)]
        out[split] = out.get(split, []) + two + three + mono
    return out


# ---- transcription (cached) -------------------------------------------------------------------

_ANALYSER = None


def _analyser(asr_model: str):
    global _ANALYSER
    if _ANALYSER is None:
        from sentimentogram_cli.analyser import Analyser

        _ANALYSER = Analyser(device="cpu", asr_model=asr_model)
    return _ANALYSER


def transcript(rec: Recording, asr_model: str) -> list[Segment]:
    key = hashlib.sha256(rec.audio.tobytes() + asr_model.encode()).hexdigest()[:20]
    path = CACHE / f"{key}.json"
    if path.is_file():
        data = json.loads(path.read_text())
    else:
        language = "pl" if "nemo" in rec.name else "en"
        t = _analyser(asr_model).transcribe(rec.audio, language=language)
        data = [{"start": s.start, "end": s.end, "text": s.text,
                 "words": [w.__dict__ for w in s.words]} for s in t.segments]
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
    return [Segment(s["start"], s["end"], s["text"], [Word(**w) for w in s["words"]]) for s in data]


def truth(words: list[Word], spans: list[tuple[float, float]], turns: list[Turn]) -> list[str]:
    out = []
    for w in words:
        mid = (w.start + w.end) / 2
        d = [0.0 if a <= mid <= b else min(abs(mid - a), abs(mid - b)) for a, b in spans]
        out.append(turns[int(np.argmin(d))].speaker)
    return out
