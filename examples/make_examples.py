"""Rebuild the example inputs in this folder from ../shared/data (a developer script, not product).

    python examples/make_examples.py            # from the repository root
    python examples/make_examples.py --actor 1  # the same cut from a training actor

Writes:
  ravdess_actor18.mp4  RAVDESS clips of one actor at strong intensity, one per emotion, joined
                       with short pauses over an ffmpeg-drawn waveform (H.264 + AAC, < 2 MB)
  ravdess_actor18.csv  which clip (file, emotion, sentence) is at which time range of the video
  jfk.flac             a copy of the public-domain JFK excerpt (an audio-only input)

Each clip is decoded with sentimentogram's own decoder, trimmed to its speech plus a short pad
(RAVDESS clips open and close with about a second of silence), and the joined audio is piped to
ffmpeg: no temporary files. The output is bit-exact across runs on the same ffmpeg build.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

import ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a source checkout

from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402
from sentimentogram_cli.media import decode_audio  # noqa: E402

__all__ = ["EMOTION_CODES", "trim_to_speech", "build_ravdess_example", "main"]

DEFAULT_DATA = ROOT.parent / "shared" / "data"
# RAVDESS emotion codes in file names; neutral (01) has no strong take, so calm (02) stands for it.
EMOTION_CODES = {"02": "calm", "03": "happy", "04": "sad", "05": "angry",
                 "06": "fearful", "07": "disgust", "08": "surprised"}
GAP_SECONDS = 0.4
PAD_SECONDS = 0.25
FRAME = SAMPLE_RATE // 50  # 20 ms analysis frames for the speech trim


def trim_to_speech(audio: np.ndarray, floor_db: float = -35.0) -> np.ndarray:
    """The span from the first to the last 20 ms frame within ``floor_db`` of the loudest, padded."""
    n = len(audio) // FRAME
    rms = np.sqrt(np.mean(audio[: n * FRAME].reshape(n, FRAME) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    pad = int(PAD_SECONDS * SAMPLE_RATE)
    start = max(0, loud[0] * FRAME - pad)
    end = min(len(audio), (loud[-1] + 1) * FRAME + pad)
    return audio[start:end]


def _clip_rows(data: Path, actor: int) -> list[dict]:
    """labels.csv rows for the actor's strong takes, statement 1 and 2 alternating, repetition 1."""
    by_path = {}
    with (data / "emotional_speech" / "labels.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_path[row["path"]] = row
    rows = []
    for i, code in enumerate(EMOTION_CODES):
        statement = "01" if i % 2 == 0 else "02"
        rel = f"ravdess/Actor_{actor:02d}/03-01-{code}-02-{statement}-01-{actor:02d}.opus"
        if rel not in by_path:
            raise SystemExit(f"missing from labels.csv: {rel}")
        rows.append(by_path[rel])
    return rows


def _encode(audio: np.ndarray, out: Path) -> None:
    """Waveform video over a plain background, H.264 + AAC, small and web-playable."""
    duration = len(audio) / SAMPLE_RATE
    source = ffmpeg.input("pipe:", format="f32le", ar=SAMPLE_RATE, ac=1)
    split = source.audio.filter_multi_output("asplit", 2)
    waves = split[0].filter("showwaves", s="640x200", mode="cline", rate=25, colors="0x7FB8E0", scale="sqrt")
    background = ffmpeg.input(f"color=c=0x15181E:s=640x360:r=25:d={duration:.3f}", f="lavfi")
    video = ffmpeg.overlay(background, waves, x=0, y=80, shortest=1)
    (
        ffmpeg.output(
            video, split[1], str(out),
            vcodec="libx264", preset="veryslow", crf=32, pix_fmt="yuv420p", g=50,
            acodec="aac", audio_bitrate="64k", ar=44100, ac=1,
            movflags="+faststart", map_metadata=-1, threads=1,
            **{"fflags": "+bitexact", "flags:v": "+bitexact", "flags:a": "+bitexact"},
        )
        .global_args("-hide_banner", "-loglevel", "error")
        .overwrite_output()
        .run(input=audio.astype("<f4").tobytes())
    )


def build_ravdess_example(data: Path, out_dir: Path, actor: int = 18) -> tuple[Path, Path]:
    pieces, table, t = [], [], 0.0
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    for i, row in enumerate(_clip_rows(data, actor)):
        clip = trim_to_speech(decode_audio(data / "emotional_speech" / row["path"]))
        if i:
            pieces.append(gap)
            t += len(gap) / SAMPLE_RATE
        pieces.append(clip)
        end = t + len(clip) / SAMPLE_RATE
        table.append({"start": f"{t:.3f}", "end": f"{end:.3f}", "file": row["path"],
                      "emotion": row["label"], "original_label": row["original_label"],
                      "text": row["text"]})
        t = end
    stem = f"ravdess_actor{actor:02d}"
    video, listing = out_dir / f"{stem}.mp4", out_dir / f"{stem}.csv"
    _encode(np.concatenate(pieces), video)
    with listing.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    return video, listing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--actor", type=int, default=18, help="RAVDESS actor 1-20 (17-20 are held out of training)")
    parser.add_argument("--out", type=Path, default=ROOT / "examples")
    args = parser.parse_args(argv)
    video, listing = build_ravdess_example(args.data, args.out, args.actor)
    print(f"{video}: {video.stat().st_size / 1e6:.2f} MB; {listing}")
    jfk = args.data / "examples" / "jfk.flac"
    if jfk.is_file():
        shutil.copyfile(jfk, args.out / "jfk.flac")
        print(args.out / "jfk.flac")


if __name__ == "__main__":
    main()
