"""`sentimentogram render` in-process: typed exit codes, one-line errors, nothing left behind.

Runs that reach the models use tiny.en for the words and a small random head built here
(`--head`), so they test the code path quickly; the shipped head is tested in test_end_to_end.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sentimentogram_cli.errors import ExitStatus
from conftest import SHARED_DATA  # the project's data folder, in one place

RAVDESS_CLIP = SHARED_DATA / "emotional_speech/ravdess/Actor_01/03-01-05-01-01-01-01.opus"
FAST = ["--asr-model", "tiny.en"]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def black_video(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"color=c=black:s=64x48:r=10:d={seconds}"]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Real files made with ffmpeg: a speech video, a silent one and one without any audio."""
    folder = tmp_path_factory.mktemp("media")
    files = {}
    files["silent"] = folder / "silent.mp4"
    ffmpeg(*black_video(3), "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=3",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(files["silent"]))
    files["no_audio"] = folder / "no_audio.mp4"
    ffmpeg(*black_video(1), "-c:v", "libx264", "-preset", "ultrafast", str(files["no_audio"]))
    if RAVDESS_CLIP.is_file():
        files["speech"] = folder / "speech.mp4"
        ffmpeg(*black_video(4), "-i", str(RAVDESS_CLIP), "-c:v", "libx264", "-preset", "ultrafast",
               "-c:a", "aac", "-shortest", str(files["speech"]))
    return files


@pytest.fixture(scope="module")
def head(tmp_path_factory, small_head):
    path = tmp_path_factory.mktemp("head") / "head.safetensors"
    small_head(path)
    return path


def copy_to(src: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(src, folder / name))


def assert_one_line_error(code: int, output: str, expected: int) -> None:
    assert code == expected, output
    assert output.strip().startswith("error:") and output.count("error:") == 1, output
    assert "Traceback" not in output
    # (test_long_error_stays_one_physical_line checks that Rich does not wrap the line.)


def assert_nothing_written(folder: Path, before: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == before  # no page, no JSON, no .part file


@pytest.mark.parametrize("case, expected", [
    ("missing", ExitStatus.INPUT_NOT_FOUND),
    ("directory", ExitStatus.INPUT_NOT_FOUND),
    ("not_media", ExitStatus.NOT_MEDIA),
    ("empty", ExitStatus.NOT_MEDIA),
    ("no_audio", ExitStatus.NO_AUDIO_STREAM),
])
def test_bad_input(case, expected, tmp_path, media, run_cli):
    target = {
        "missing": tmp_path / "nope.mp4",
        "directory": tmp_path / "talks.mp4",
        "not_media": tmp_path / "notes.mp4",
        "empty": tmp_path / "empty.mp4",
        "no_audio": copy_to(media["no_audio"], tmp_path, "mute.mp4"),
    }[case]
    if case == "directory":
        target.mkdir()
    elif case == "not_media":
        target.write_text("these are my notes, not a video\n" * 50)
    elif case == "empty":
        target.touch()
    before = {p.name for p in tmp_path.iterdir()}
    code, output = run_cli(["render", str(target), "--json"])
    assert_one_line_error(code, output, expected)
    assert target.name in output  # the message names the file
    assert_nothing_written(tmp_path, before)


def test_long_error_stays_one_physical_line(tmp_path, run_cli):
    """Logs and scripts read errors line by line: a long path must not be wrapped at 80 columns."""
    target = tmp_path / ("a-rather-long-folder-name-" * 4) / "missing talk.mp4"
    code, output = run_cli(["render", str(target)])
    assert code == ExitStatus.INPUT_NOT_FOUND
    assert len([ln for ln in output.splitlines() if ln.strip()]) == 1, output


@pytest.mark.parametrize("out", ["missing-folder/page.html", "/proc/page.html"])
def test_unwritable_output_fails_before_any_model(out, tmp_path, media, run_cli):
    source = copy_to(media["silent"], tmp_path, "talk.mp4")
    out = tmp_path / out if not out.startswith("/") else Path(out)
    # No --head: the shipped checkpoint may be absent, and must not matter (the output is checked first).
    code, output = run_cli(["render", str(source), "--out", str(out), "--json"])
    assert_one_line_error(code, output, ExitStatus.OUTPUT_NOT_WRITABLE)
    assert not out.exists()
    assert_nothing_written(tmp_path, {"talk.mp4"})


def test_output_onto_the_input_is_refused(tmp_path, media, run_cli):
    source = copy_to(media["silent"], tmp_path, "talk.mp4")
    size = source.stat().st_size
    code, output = run_cli(["render", str(source), "--out", str(source)])
    assert_one_line_error(code, output, ExitStatus.OUTPUT_NOT_WRITABLE)
    assert source.stat().st_size == size


@pytest.mark.parametrize("checkpoint", ["none.safetensors", "garbage.safetensors"])
def test_bad_head_checkpoint(checkpoint, tmp_path, media, run_cli):
    source = copy_to(media["silent"], tmp_path, "talk.mp4")
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00not a checkpoint" * 100)
    before = {p.name for p in tmp_path.iterdir()}
    code, output = run_cli(["render", str(source), "--head", str(tmp_path / checkpoint)])
    assert_one_line_error(code, output, ExitStatus.MODEL_ERROR)
    assert_nothing_written(tmp_path, before)


def test_cuda_without_a_gpu_fails_before_decoding(tmp_path, media, head, run_cli):
    from sentimentogram_cli.devices import cuda_device_count

    if cuda_device_count():
        pytest.skip("a CUDA GPU is visible here")
    source = copy_to(media["silent"], tmp_path, "talk.mp4")
    code, output = run_cli(["render", str(source), "--device", "cuda", "--head", str(head)])
    assert_one_line_error(code, output, ExitStatus.MODEL_ERROR)
    assert "--device cpu" in output
    assert_nothing_written(tmp_path, {"talk.mp4"})


def test_bad_choices_are_usage_errors(tmp_path, run_cli):
    for args in (["--culture", "martian"], ["--age", "toddler"], ["--device", "tpu"], ["--format", "pdf"],
                 ["--window", "3", "--hop", "4"], ["--window", "0"], ["--hop", "0"]):
        code, output = run_cli(["render", str(tmp_path / "x.mp4"), *args])
        assert code == ExitStatus.USAGE, (args, output)
        assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == []


def test_unexpected_errors_are_one_line_unless_debugging(tmp_path, media, monkeypatch, run_cli):
    """The one error boundary: a bug becomes one line and exit status 1; SENTIMENTOGRAM_DEBUG
    keeps the exception (and its traceback) for whoever debugs it."""
    import sentimentogram_cli.jobs as jobs

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero\ndeep inside")

    monkeypatch.setattr(jobs, "probe", bug)
    source = copy_to(media["silent"], tmp_path, "talk.mp4")
    code, output = run_cli(["render", str(source)])
    assert_one_line_error(code, output, ExitStatus.ERROR)
    # errors.one_line: the first line of the message (the rest is detail)
    assert "unexpected ZeroDivisionError: division by zero (set" in output and "SENTIMENTOGRAM_DEBUG" in output
    monkeypatch.setenv("SENTIMENTOGRAM_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        run_cli(["render", str(source)])


def test_bad_culture_through_main(tmp_path, run_cli):
    """The installed entry point (main) maps usage errors to exit code 2 without a traceback."""
    code, output = run_cli(["render", str(tmp_path / "x.mp4"), "--culture", "martian"])
    assert code == ExitStatus.USAGE, output
    assert "Traceback" not in output and "martian" in output


@pytest.mark.slow  # runs the real encoders / Whisper
@pytest.mark.skipif(not RAVDESS_CLIP.is_file(), reason="RAVDESS clip not found in ../shared/data")
def test_non_ascii_path_with_spaces_works(tmp_path, media, head, run_cli):
    folder = tmp_path / "Vorträge 2024"
    source = copy_to(media["speech"], folder, "Kinder an der Tür — take 1.mp4")
    code, output = run_cli(["render", str(source), *FAST, "--head", str(head), "--json",
                            "--culture", "eastern", "--age", "senior"])
    assert code == 0, output
    page = folder / "Kinder an der Tür — take 1.html"
    data = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["source"] == source.name
    assert data["settings"] == {"window": 3.0, "hop": 1.0, "speakers": "auto"}  # the style is not part of the analysis
    assert data["models"]["head"] == "test-random" and data["models"]["asr"] == "whisper-tiny.en"
    words = [w for line in data["lines"] for w in line["words"]]
    assert len(words) >= 3 and all(w["emotion"]["emotion"] in data["labels"] for w in words)
    html = page.read_text(encoding="utf-8")
    # The video is linked relative to the page, URL-encoded (UTF-8 percent-escapes).
    assert 'src="Kinder%20an%20der%20T%C3%BCr%20%E2%80%94%20take%201.mp4"' in html
    assert "wrote" in output and "real time" in output


@pytest.mark.slow  # runs the real encoders / Whisper
def test_silent_video_says_no_speech(tmp_path, media, head, run_cli):
    source = copy_to(media["silent"], tmp_path, "quiet.mp4")
    out = tmp_path / "pages"
    out.mkdir()
    code, output = run_cli(["render", str(source), *FAST, "--head", str(head), "--out", str(out)])
    assert code == 0, output
    html = (out / "quiet.html").read_text(encoding="utf-8")
    assert "No speech was found" in html
    assert 'src="../quiet.mp4"' in html
    assert "no speech found" in output


@pytest.mark.slow  # runs the real encoders / Whisper
def test_embed_video_puts_the_media_in_the_page(tmp_path, media, head, run_cli):
    source = copy_to(media["silent"], tmp_path, "quiet.mp4")
    code, output = run_cli(["render", str(source), *FAST, "--head", str(head), "--embed-video"])
    assert code == 0, output
    html = (tmp_path / "quiet.html").read_text(encoding="utf-8")
    assert 'src="data:video/mp4;base64,' in html and 'src="quiet.mp4"' not in html


def test_styles_lists_every_emotion_with_overrides(tmp_path, run_cli):
    from sentimentogram_cli.constants import EMOTIONS

    style = tmp_path / "mine.toml"
    style.write_text('[western.angry]\ncolor = "#ff5555"\n', encoding="utf-8")
    code, output = run_cli(["styles", "--culture", "western", "--style-file", str(style)])
    assert code == 0, output
    assert all(e in output for e in EMOTIONS) and "#ff5555" in output
    code, output = run_cli(["styles", "--style-file", str(tmp_path / "none.toml")])
    assert_one_line_error(code, output, ExitStatus.USAGE)
