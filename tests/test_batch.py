"""Batches (discovery, one failure among many, models once, resume after kill -9) and long inputs
(transcription in pieces, batched recognition equal to the whole-recording one)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sentimentogram_cli.emotion.recognise as emotions
import sentimentogram_cli.transcription.transcribe as transcription
from sentimentogram_cli.analyser import Analyser
from sentimentogram_cli.batch import BatchEntry, BatchReport, discover_inputs, is_single_file
from sentimentogram_cli.constants import CHUNK_SAMPLES, SAMPLE_RATE
from sentimentogram_cli.errors import ExitStatus
from conftest import SHARED_DATA, make_video_file  # the data folder and test media, in one place

ROOT = Path(__file__).resolve().parents[1]
RAVDESS = SHARED_DATA / "emotional_speech/ravdess/Actor_01"
CLIPS = ["03-01-05-01-01-01-01.opus", "03-01-03-01-02-01-01.opus", "03-01-04-01-01-01-01.opus",
         "03-01-06-01-02-01-01.opus"]
needs_ravdess = pytest.mark.skipif(not all((RAVDESS / c).is_file() for c in CLIPS),
                                   reason=f"RAVDESS clips not found under {RAVDESS}")


def make_video(path: Path, seconds: float = 2, audio: Path | None = None) -> Path:
    return make_video_file(path, seconds, audio=audio)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


# ---- discovery and the report -------------------------------------------------------------------

def test_discovery_of_files_folders_and_globs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("talks/a.mp4", "talks/deep/b.MKV", "talks/deep/c.wav", "talks/notes.txt", "talks/.hidden.mp4",
                 "talks/.git/d.mp4", "talks/a.subtitled.mp4", "other/e.mp3", "other/f.mp4"):
        touch(tmp_path / name)
    items = discover_inputs(["talks", "other/*.mp*", "talks/a.mp4", "missing.mp4", "nothing/*.mp4", "empty"])
    assert [i.name for i in items if i.error is None] == [
        str(Path(p)) for p in ("talks/a.mp4", "talks/deep/b.MKV", "talks/deep/c.wav", "other/e.mp3",
                               "other/f.mp4", "missing.mp4", "empty")]
    errors = [str(i.error) for i in items if i.error is not None]
    assert errors == ["nothing/*.mp4: no file matches"]  # "empty" does not exist: it is a missing file
    (tmp_path / "empty").mkdir()
    assert "no audio or video files" in str(discover_inputs(["empty"])[0].error)
    assert [i.name for i in discover_inputs(["**/*.wav"])] == [str(Path("talks/deep/c.wav"))]
    assert is_single_file(["talks/a.mp4"]) and is_single_file(["missing.mp4"])
    assert not is_single_file(["talks"]) and not is_single_file(["*.mp4"]) and not is_single_file(["a", "b"])


def test_exit_status_says_whether_any_failed():
    ok = BatchEntry("a", "rendered")
    assert BatchReport([ok, BatchEntry("b", "skipped")]).exit_status == ExitStatus.SUCCESS
    bad = BatchEntry("c", "failed", exit_status=ExitStatus.NOT_MEDIA)
    assert BatchReport([ok, bad, bad]).exit_status == ExitStatus.NOT_MEDIA
    other = BatchEntry("d", "failed", exit_status=ExitStatus.INPUT_NOT_FOUND)
    assert BatchReport([bad, other]).exit_status == ExitStatus.ERROR


@pytest.fixture
def fake_models(monkeypatch, make_analysis):
    """The model stages replaced by a recorder of which file ran with which Analyser."""
    runs = []

    def run(self, name, kind, duration, load, options, progress):
        runs.append((name, id(self)))
        progress("emotions", 0.0)
        progress("emotions", 1.0)
        return make_analysis(["Hello", "there"], source=name)

    monkeypatch.setattr(Analyser, "_run", run)
    return runs


def test_one_failing_input_is_reported_and_the_rest_go_on(tmp_path, run_cli, fake_models):
    folder = tmp_path / "talks"
    folder.mkdir()
    make_video(folder / "a.mp4")
    (folder / "b.mp4").write_text("not a video at all\n" * 20)
    make_video(folder / "c.mp4", seconds=1)
    out = tmp_path / "pages"
    out.mkdir()
    code, output = run_cli(["render", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                            "--head", str(touch(tmp_path / "head.safetensors"))])
    assert code == ExitStatus.NOT_MEDIA, output
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "c.html"]
    assert [name for name, _ in fake_models] == ["a.mp4", "c.mp4"]
    assert len({analyser for _, analyser in fake_models}) == 1  # one Analyser: models load once
    assert output.count("error:") == 2 and "Traceback" not in output  # b.mp4's, then the summary
    assert output.strip().endswith("error: 1 of 3 inputs failed")
    table = output[output.index("3 inputs, 1 failed"):]
    for name, status in (("a.mp4", "rendered"), ("b.mp4", "failed"), ("c.mp4", "rendered")):
        assert name in table and status in table


def test_several_inputs_need_a_folder_and_distinct_outputs(tmp_path, run_cli, fake_models):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
    first, second = make_video(tmp_path / "x" / "talk.mp4"), make_video(tmp_path / "y" / "talk.mp4", seconds=1)
    args = ["--cache-dir", str(tmp_path / "cache"), "--head", str(touch(tmp_path / "head.safetensors"))]
    code, output = run_cli(["render", str(first), str(second), "--out", str(tmp_path / "page.html"), *args])
    assert code == ExitStatus.OUTPUT_NOT_WRITABLE and "existing folder" in output, output
    out = tmp_path / "pages"
    out.mkdir()
    code, output = run_cli(["render", str(first), str(second), "--out", str(out), *args])
    assert code == ExitStatus.OUTPUT_NOT_WRITABLE and "also the output of" in output, output
    assert [p.name for p in out.iterdir()] == ["talk.html"]


@pytest.mark.slow
@needs_ravdess
def test_kill_9_mid_batch_leaves_no_partial_output_and_the_rerun_finishes(tmp_path, small_head):
    """The real CLI in a subprocess, killed with SIGKILL as soon as the first page appears."""
    head = tmp_path / "head.safetensors"
    small_head(head)
    talks, out = tmp_path / "talks", tmp_path / "out"
    talks.mkdir()
    out.mkdir()
    for i, clip in enumerate(CLIPS):
        make_video(talks / f"talk{i}.mp4", seconds=4, audio=RAVDESS / clip)
    command = [sys.executable, "-m", "sentimentogram_cli", "render", str(talks), "--out", str(out),
               "--asr-model", "tiny.en", "--head", str(head), "--cache-dir", str(tmp_path / "cache"),
               "--format", "html,json,srt"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(out.glob("*.html")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the batch finished before it could be killed"

    done = {p.stem for p in out.glob("*.html")}
    assert 1 <= len(done) < len(CLIPS)
    for path in out.iterdir():  # every output name holds a whole file; only dot-files may be temporaries
        if path.name.startswith("."):
            assert ".part" in path.name
        elif path.suffix == ".html":
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
            assert path.with_suffix(".json").is_file() and path.with_suffix(".srt").is_file()
        elif path.suffix == ".json":
            import json

            json.loads(path.read_text(encoding="utf-8"))

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("skipped in") == len(done)
    assert rerun.stderr.count("rendered in") + rerun.stderr.count("restyled in") == len(CLIPS) - len(done)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"talk{i}.{ext}" for i in range(len(CLIPS)) for ext in ("html", "json", "srt"))


# ---- long inputs ---------------------------------------------------------------------------------

def chunked(audio: np.ndarray) -> list[np.ndarray]:
    return [audio[i:i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)]


def test_pieces_end_in_the_quietest_stretch(monkeypatch):
    monkeypatch.setattr(transcription, "PIECE_SECONDS", 40.0)
    monkeypatch.setattr(transcription, "_CUT_SEARCH_SECONDS", 10.0)
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal(95 * SAMPLE_RATE)).astype(np.float32)
    audio[34 * SAMPLE_RATE: int(34.6 * SAMPLE_RATE)] *= 0.001  # a pause at 34.0-34.6 s
    audio[72 * SAMPLE_RATE: int(72.6 * SAMPLE_RATE)] *= 0.001  # and one at 72.0-72.6 s
    bounds = transcription._piece_bounds(chunked(audio), len(audio))
    assert bounds[0][0] == 0 and bounds[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    cuts = [b / SAMPLE_RATE for _, b in bounds[:-1]]
    assert len(cuts) == 2 and 34.0 <= cuts[0] <= 34.6 and 72.0 <= cuts[1] <= 72.6
    assert all(b - a <= 40 * SAMPLE_RATE for a, b in bounds)
    assert np.array_equal(transcription.samples(chunked(audio), 100, 2 * CHUNK_SAMPLES + 5),
                          audio[100:2 * CHUNK_SAMPLES + 5])


class FakeEncoder:
    """Frames that depend on the chunk and the batch they were encoded in (as a real encoder's may)."""

    batch_size = 2

    def encode(self, audio):
        n = int(np.ceil(len(audio) / 640))
        return (np.arange(n * 4, dtype=np.float32).reshape(n, 4) / 7 + len(audio) % 11).astype(np.float32)


class FakeHead:
    def __init__(self, weight):
        self.metadata = type("M", (), {"recording_mean_weight": weight})()
        self.audio_mean = np.full(4, 2.0, np.float32)


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_frames_are_encoded_block_by_block_and_kept_as_float16(weight):
    audio = np.zeros(5 * CHUNK_SAMPLES + 12345, np.float32)
    head, encoder = FakeHead(weight), FakeEncoder()
    frames, centre = emotions.encode_chunks(chunked(audio), len(audio), head, encoder, lambda f: None)
    frames = frames[0:len(frames)]  # spilled to a temporary file: read back by a slice of rows
    blocks = [encoder.encode(audio[i:i + 2 * CHUNK_SAMPLES]) for i in range(0, len(audio), 2 * CHUNK_SAMPLES)]
    whole = np.concatenate(blocks)
    assert frames.dtype == np.float16 and len(frames) == int(np.ceil(len(audio) / 640))
    np.testing.assert_allclose(frames, whole, rtol=1e-3)
    stored = whole.astype(np.float16).astype(np.float64)  # the centre is the stored frames' mean
    expected = head.audio_mean if weight == 0 else (1 - weight) * head.audio_mean + weight * stored.mean(axis=0)
    np.testing.assert_allclose(centre, expected, rtol=1e-5)


def whole_recording_reference(audio, segments, head, audio_encoder, text_encoder):
    """The recognition stage at its plainest, as the reference for the chunked one: float32
    frames of the whole recording, every window at once, every word against every window."""
    from sentimentogram_cli.emotion.features import frames_for_span
    from sentimentogram_cli.emotion.windows import aggregate_words, layout_windows, window_text

    words = [w for s in segments for w in s.words]
    windows = layout_windows(words, len(audio) / SAMPLE_RATE)
    frames = head.normalise_recording(audio_encoder.encode(audio))
    texts = [window_text(words, w) for w in windows]
    embedded = iter(text_encoder.embed([t for t in texts if t is not None]))
    predictions = head.predict([None if t is None else next(embedded) for t in texts],
                               [frames_for_span(frames, w.start, w.end) for w in windows])
    return aggregate_words(words, windows, list(head.labels),
                           predictions.probabilities, predictions.vad, predictions.gates)


@pytest.mark.slow
@needs_ravdess
def test_chunked_recognition_matches_the_whole_recording(monkeypatch, tmp_path, small_head):
    """``Analyser.recognise`` (chunks, float16 frames, small batches) against the plainest
    whole-recording computation."""
    from sentimentogram_cli.media import decode_audio
    from sentimentogram_cli.transcription.transcribe import transcribe

    audio = np.concatenate([decode_audio(RAVDESS / CLIPS[0]), np.zeros(3 * SAMPLE_RATE, np.float32),
                            decode_audio(RAVDESS / CLIPS[1])])
    segments = transcribe(audio, model_name="tiny.en", device="cpu").segments
    head_path = tmp_path / "head.safetensors"
    small_head(head_path)
    analyser = Analyser(device="cpu", head=head_path)
    analyser.head.metadata.recording_mean_weight = 0.5
    encoders = analyser.audio_encoder, analyser.text_encoder
    monkeypatch.setattr(emotions, "_WINDOW_BATCH", 3)
    monkeypatch.setattr(emotions, "_WORD_BATCH", 4)
    lines = analyser.recognise(audio, segments)
    batched = [w.emotion for line in lines for w in line.words]
    whole = whole_recording_reference(audio, segments, analyser.head, *encoders)
    assert [w.text for line in lines for w in line.words] == [w.text for s in segments for w in s.words]
    assert len(batched) == len(whole) >= 8
    for b, w in zip(batched, whole):
        for label in b.probabilities:
            assert b.probabilities[label] == pytest.approx(w.probabilities[label], abs=0.02)
        assert b.audio_gate == pytest.approx(w.audio_gate, abs=0.02)


@pytest.mark.slow
@needs_ravdess
def test_long_audio_is_decoded_as_one_from_its_chunks_with_the_right_times(monkeypatch):
    """Past PIECE_SECONDS the recording is read from its chunks (stream.ChunkedAudio), not given
    to the recogniser as one array; its words carry their times in the whole recording."""
    from sentimentogram_cli.media import decode_audio
    from sentimentogram_cli.transcription import decoding

    first, second = decode_audio(RAVDESS / CLIPS[0]), decode_audio(RAVDESS / CLIPS[1])
    gap = np.zeros(2 * SAMPLE_RATE, np.float32)
    audio = np.concatenate([first, gap, second])
    monkeypatch.setattr(transcription, "PIECE_SECONDS", (len(first) + len(gap)) / SAMPLE_RATE + 0.5)
    chunks = chunked(audio)
    given, decode = [], decoding.decode
    monkeypatch.setattr(transcription, "decode", lambda m, a, *args, **kw: given.append(type(a)) or decode(m, a, *args, **kw))
    reported = []
    transcript = transcription.transcribe_chunks(chunks, len(audio), model_name="tiny.en", device="cpu",
                                                 progress=reported.append)
    words = transcript.words
    assert transcript.language == "en" and transcript.duration == round(len(audio) / SAMPLE_RATE, 3)
    text = "".join(w.text for w in words).lower()
    assert "talking" in text and "sitting" in text  # "Kids are talking…" and "Dogs are sitting…"
    later = [w for w in words if w.start > len(first) / SAMPLE_RATE + 1.0]
    assert later and "dogs" in later[0].text.lower()  # the second utterance's words at its time
    assert given == [transcription.ChunkedAudio]  # one first pass, over the chunks
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))
    assert reported == sorted(reported) and reported[-1] <= 1.0


@pytest.mark.slow
@needs_ravdess
def test_long_input_benchmark_runs(tmp_path, small_head):
    head = tmp_path / "head.safetensors"
    small_head(head)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "long_input_memory.py"), "--minutes", "0.2",
                           "--asr-model", "tiny.en", "--head", str(head), "--work", str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "peak RSS" in done.stdout and "wall" in done.stdout
