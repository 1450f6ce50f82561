"""`sentimentogram burn`: a new video with the styled subtitles in its pixels; the original untouched."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sentimentogram_cli.output.burn import filter_escape
from sentimentogram_cli.errors import ExitStatus

RAVDESS_CLIP = (Path(__file__).resolve().parents[2]
                / "shared/data/emotional_speech/ravdess/Actor_01/03-01-05-01-01-01-01.opus")
WIDTH, HEIGHT = 320, 240


def make_video(path: Path, seconds: float = 3, audio: str | None = None) -> Path:
    sound = ["-i", audio] if audio else ["-f", "lavfi", "-i", f"anullsrc=r=16000:cl=mono:d={seconds}"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c=0x336699:s={WIDTH}x{HEIGHT}:r=10:d={seconds}", *sound, "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def frame(video: Path, at: float) -> np.ndarray:
    """One decoded frame as (height, width) grey levels."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(video), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(HEIGHT, WIDTH).astype(int)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_filter_escape_follows_ffmpegs_own_example():
    """The example of "Notes on filtergraph escaping" in ffmpeg-filters(1), both levels."""
    text = "this is a 'string': may contain one, or more, special characters"
    assert filter_escape(text) == r"this is a \\\'string\\\'\\: may contain one\, or more\, special characters"
    assert filter_escape("/fonts [1];x") == r"/fonts \[1\]\;x"


def test_burn_draws_the_captions_and_leaves_the_original(tmp_path, make_analysis, run_cli):
    # A folder name that needs escaping at both levels of the filter syntax.
    folder = tmp_path / "it's a: test [1], x"
    folder.mkdir()
    video = make_video(folder / "talk.mp4")
    original = digest(video)
    document = folder / "talk.json"
    document.write_text(make_analysis(["Hello", "{braces}", "world"], start=0.2, step=0.5,
                                      emotions=["angry"]).to_json(), encoding="utf-8")
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--culture", "eastern"])
    assert code == 0, output
    burned = folder / "talk.subtitled.mp4"
    assert burned.is_file() and digest(video) == original
    assert sorted(p.name for p in folder.iterdir()) == ["talk.json", "talk.mp4", "talk.subtitled.mp4"]
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(burned), "-f", "null", "-"], capture_output=True)
    assert decoded.returncode == 0 and not decoded.stderr
    before, after = frame(video, 1.0), frame(burned, 1.0)
    caption, sky = slice(HEIGHT * 2 // 3, HEIGHT), slice(0, HEIGHT // 3)
    assert np.abs(after[caption] - before[caption]).mean() > 5  # the caption is in the pixels
    assert np.abs(after[sky] - before[sky]).mean() < 2  # and nothing else changed
    # After the last word, no caption: the frame matches the original again.
    assert np.abs(frame(burned, 2.8)[caption] - frame(video, 2.8)[caption]).mean() < 2


def test_burn_out_option_and_refusals(tmp_path, make_analysis, run_cli):
    video = make_video(tmp_path / "talk.mp4", seconds=1)
    document = tmp_path / "talk.json"
    document.write_text(make_analysis(["Hi"], start=0.1).to_json(), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--out", str(out / "x.mkv")])
    assert code == 0, output
    assert (out / "x.mkv").is_file() and list(out.iterdir()) == [out / "x.mkv"]
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--out", str(video)])
    assert code == ExitStatus.OUTPUT_NOT_WRITABLE and output.startswith("error:"), output
    audio = tmp_path / "talk.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-vn", "-c:a", "copy", str(audio)], check=True)
    code, output = run_cli(["burn", str(audio), "--analysis", str(document)])
    assert code == ExitStatus.NOT_MEDIA and "no video stream" in output, output
    code, output = run_cli(["burn", str(video), "--analysis", str(tmp_path / "none.json")])
    assert code == ExitStatus.INPUT_NOT_FOUND and "Traceback" not in output, output


@pytest.mark.slow
@pytest.mark.skipif(not RAVDESS_CLIP.is_file(), reason="RAVDESS clip not found in ../shared/data")
def test_burn_analyses_once_then_uses_the_cache(tmp_path, run_cli):
    from test_emotions import small_head

    head = tmp_path / "head.safetensors"
    small_head(head)
    video = make_video(tmp_path / "speech.mp4", seconds=4, audio=str(RAVDESS_CLIP))
    args = ["burn", str(video), "--asr-model", "tiny.en", "--head", str(head), "--cache-dir", str(tmp_path / "c")]
    code, output = run_cli(args)
    assert code == 0 and "analysis from models" in output, output
    code, output = run_cli([*args, "--out", str(tmp_path / "again.mp4"), "--culture", "accessible"])
    assert code == 0 and "analysis from cache" in output, output
    assert np.abs(frame(tmp_path / "again.mp4", 1.5) - frame(video, 1.5)).mean() > 0.5
    shutil.rmtree(tmp_path / "c")
