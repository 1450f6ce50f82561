"""Burn-in (issue 22): encode time per minute of video for each aspect, and the contrast of every
caption colour, spoken and not yet spoken, measured on decoded frames over a dark and a bright
picture.

    python benchmarks/burn.py                    # 20 s of 1280x720 test picture, preset veryfast
    python benchmarks/burn.py --seconds 60 --size 1920x1080 --preset medium
    python benchmarks/burn.py --skip-speed       # contrast only (~1 min)

Speed: a synthetic 30 fps test picture (ffmpeg ``testsrc2``) with a 440 Hz tone, and an analysis
of 2.5 words a second cycling through the emotions (the captions' cues cut from it as for a
render), burned by ``jobs.burn`` for each aspect and fill, and from the tone alone (waveform).
CPU seconds are the ffmpeg children's user + system time (``RUSAGE_CHILDREN``), the figure that
does not move with the other jobs on a shared machine; wall seconds are shown beside them.

Contrast: for each culture, a clip of a flat dark (#000000) and a flat bright (#ffffff) picture
with two one-word cues per emotion, one shown after its word was said, one before; the text
colour (the median of the 5% of the pixels inside the box farthest from it) against the box
colour (the median of the pixels near the preset's box colour), as WCAG contrast ratios. The box is opaque,
so the picture behind it should not change the figures; the target is >= 4.5:1 (7:1 accessible).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentimentogram_cli.colour import contrast_ratio, to_hex  # noqa: E402
from sentimentogram_cli.constants import CATEGORY_VAD, CULTURES, EMOTIONS  # noqa: E402
from sentimentogram_cli.document import AnalysedWord, Analysis, Cue, Line, WordEmotion  # noqa: E402
from sentimentogram_cli.jobs import burn  # noqa: E402
from sentimentogram_cli.typography import MIN_CONTRAST, style_table  # noqa: E402
from sentimentogram_cli.style import Style  # noqa: E402

ASPECTS = [("source", "blur"), ("9:16", "blur"), ("9:16", "crop"), ("1:1", "blur"), ("1:1", "crop")]


def _word(text: str, start: float, end: float, emotion: str) -> AnalysedWord:
    v, a, d = CATEGORY_VAD.get(emotion, CATEGORY_VAD["neutral"])
    return AnalysedWord(text=" " + text, start=round(start, 3), end=round(end, 3), probability=0.95,
                        emotion=WordEmotion(emotion=emotion, confidence=1.0,
                                            probabilities={e: float(e == emotion) for e in EMOTIONS},
                                            valence=v, arousal=a, dominance=d, audio_gate=0.5, text_gate=0.5))


def talk(seconds: float, source: str) -> Analysis:
    """2.5 words a second, a line of 6 words, emotions in turn; sentence ends every 12 words."""
    words, t, n = [], 0.3, 0
    while t + 0.35 < seconds - 0.3:
        text = ("words", "shown", "while", "they", "are", "said.")[n % 6]
        words.append(_word(text, t, t + 0.32, EMOTIONS[(n // 6) % len(EMOTIONS)]))
        t, n = t + 0.4, n + 1
    lines = [Line(start=c[0].start, end=c[-1].end, words=c) for c in (words[i:i + 6] for i in range(0, len(words), 6))]
    return Analysis(source=source, media_kind="video", duration=seconds, language="en", labels=list(EMOTIONS),
                    lines=lines)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def speed(folder: Path, seconds: float, size: str, preset: str) -> list[dict]:
    video, audio = folder / "talk.mp4", folder / "talk.m4a"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d={seconds}", "-f", "lavfi", "-i",
            f"sine=f=440:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(video))
    _ffmpeg("-i", str(video), "-vn", "-c:a", "copy", str(audio))
    analysis = talk(seconds, video.name)
    rows = []
    for label, path, aspect, fill in [*((f"{a} {f}", video, a, f) for a, f in ASPECTS),
                                      ("audio 9:16 waveform", audio, "9:16", "blur")]:
        out = folder / f"out-{len(rows)}.mp4"
        cpu, wall = _children_cpu(), time.perf_counter()
        result = burn(path, analysis=analysis, out=out, aspect=aspect, fill=fill, cache=None, preset=preset)
        cpu, wall = _children_cpu() - cpu, time.perf_counter() - wall
        rows.append({"output": label, "size": f"{result.size[0]}x{result.size[1]}",
                     "cpu_s_per_min": round(cpu / seconds * 60, 1), "wall_s_per_min": round(wall / seconds * 60, 1)})
    return rows


def _frame(video: Path, at: float, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(int)


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])


def line_contrast(picture: np.ndarray, background: str) -> float:
    """Text against box of the one caption line in ``picture`` (H, W, 3): the box is the pixels
    near the preset's box colour, the text the 5% of the other pixels inside the box's bounds
    (2 px in from its edges) farthest from the box colour: stroke cores, not their edges."""
    near = np.abs(picture - _rgb(background)).sum(axis=2) < 40
    rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
    inside = np.zeros_like(near)
    inside[rows[0] + 2:rows[-1] - 1, cols[0] + 2:cols[-1] - 1] = True
    box = np.median(picture[near & inside], axis=0)
    candidates = picture[inside & ~near]
    distance = np.abs(candidates - box).sum(axis=1)
    text = np.median(candidates[distance >= np.quantile(distance, 0.95)], axis=0)
    return contrast_ratio(to_hex(tuple(text / 255)), to_hex(tuple(box / 255)))


def contrast(folder: Path) -> list[dict]:
    """Per culture and emotion, a cue whose one word has been said (measured after it, so it is
    not the active word) and a cue whose word is still to come (measured in its lead-in)."""
    width, height, step = 640, 360, 2.0
    rows = []
    for culture in CULTURES:
        table = style_table(culture)
        words, cues = [], []
        for k, emotion in enumerate(EMOTIONS):
            t0 = 0.5 + k * step
            words += [_word("SPOKEN", t0, t0 + 0.4, emotion), _word("LATER", t0 + 1.5, t0 + 1.9, emotion)]
            cues += [Cue(t0, t0 + 0.95, [[2 * k, 2 * k + 1]]), Cue(t0 + 1.0, t0 + 1.95, [[2 * k + 1, 2 * k + 2]])]
        duration = 0.5 + len(EMOTIONS) * step
        analysis = Analysis(source="frame.mp4", media_kind="video", duration=duration, language="en",
                            labels=list(EMOTIONS), lines=[Line(words[0].start, words[-1].end, words)], cues=cues)
        for name, colour in (("dark", "000000"), ("bright", "ffffff")):
            video = folder / f"{culture}-{name}.mp4"
            _ffmpeg("-f", "lavfi", "-i", f"color=c=0x{colour}:s={width}x{height}:r=25:d={duration}",
                    "-f", "lavfi", "-i", f"anullsrc=r=16000:cl=mono:d={duration}", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(video))
            out = folder / f"{culture}-{name}.burned.mp4"
            burn(video, analysis=analysis, out=out, style=Style(culture), size=12, cache=None, preset="veryfast")
            for k, emotion in enumerate(EMOTIONS):
                t0, background = 0.5 + k * step, table[emotion].background
                rows.append({"culture": culture, "emotion": emotion, "frame": name, "colour": table[emotion].color,
                             "box": background,
                             "spoken": round(line_contrast(_frame(out, t0 + 0.7, width, height), background), 2),
                             "not_yet": round(line_contrast(_frame(out, t0 + 1.2, width, height), background), 2),
                             "target": MIN_CONTRAST[culture]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the speed clip")
    parser.add_argument("--size", default="1280x720", help="picture size of the speed clip")
    parser.add_argument("--preset", default="veryfast", help="x264 preset of the speed runs")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="burn-bench-") as tmp:
        folder = Path(tmp)
        if not args.skip_speed:
            figures["speed"] = speed(folder, args.seconds, args.size, args.preset)
            print(f"encode time per minute of video ({args.size} source, {args.seconds:g} s, preset {args.preset})")
            print(f"{'output':<22} {'size':>10} {'CPU s/min':>10} {'wall s/min':>11}")
            for r in figures["speed"]:
                print(f"{r['output']:<22} {r['size']:>10} {r['cpu_s_per_min']:>10} {r['wall_s_per_min']:>11}")
            print()
        figures["contrast"] = contrast(folder)
    print("caption contrast on decoded frames (WCAG ratio, text against its box)")
    print(f"{'culture':<11} {'emotion':<9} {'colour':<8} {'box':<8} {'frame':<7} {'spoken':>7} {'not yet':>8} {'target':>7}")
    for r in figures["contrast"]:
        print(f"{r['culture']:<11} {r['emotion']:<9} {r['colour']:<8} {r['box']:<8} {r['frame']:<7} "
              f"{r['spoken']:>7} {r['not_yet']:>8} {r['target']:>7}")
    worst = min(min(r["spoken"], r["not_yet"]) - r["target"] for r in figures["contrast"])
    print(f"lowest margin over the target: {worst:+.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
