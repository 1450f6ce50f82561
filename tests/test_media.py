"""media.py on real files that ffmpeg's lavfi sources make in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import ffmpeg
import numpy as np
import pytest

from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.errors import ExitStatus, InputError, MediaError, NoAudioError
from sentimentogram_cli.media import MediaInfo, decode_audio, iter_audio_chunks, probe

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def _run(stream) -> None:
    stream.global_args("-hide_banner", "-loglevel", "error").overwrite_output().run()


def _sine(seconds: float, rate: int = SAMPLE_RATE):
    return ffmpeg.input(f"sine=frequency=440:sample_rate={rate}:duration={seconds}", f="lavfi")


def _picture(seconds: float):
    return ffmpeg.input(f"testsrc=size=160x120:rate=10:duration={seconds}", f="lavfi")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """One of each kind of input, made once for the module (ffmpeg runs are the slow part)."""
    d = tmp_path_factory.mktemp("media")
    files = {
        "video": d / "talk.mp4",
        "unicode": d / "vidéo talk ü.mp4",
        "silent_video": d / "no audio.mp4",
        "wav": d / "tone.wav",
        "flac": d / "tone 44k.flac",
        "cover_mp3": d / "song with cover.mp3",
    }
    for key in ("video", "unicode"):
        _run(ffmpeg.output(_picture(2), _sine(2), str(files[key]), vcodec="libx264", acodec="aac",
                           pix_fmt="yuv420p", shortest=None))
    _run(ffmpeg.output(_picture(1), str(files["silent_video"]), vcodec="libx264", pix_fmt="yuv420p"))
    _run(ffmpeg.output(_sine(1.5), str(files["wav"]), acodec="pcm_s16le"))
    _run(ffmpeg.output(_sine(1.0, 44100), str(files["flac"]), acodec="flac"))
    cover = ffmpeg.input("color=c=red:size=64x64:duration=1", f="lavfi")
    _run(ffmpeg.output(_sine(1.0), cover, str(files["cover_mp3"]), acodec="libmp3lame", vcodec="png",
                       **{"frames:v": 1, "disposition:v": "attached_pic"}))
    (d / "not media.mp4").write_text("this is a text file, not a video\n", encoding="utf-8")
    files["not_media"] = d / "not media.mp4"
    (d / "empty.mp4").write_bytes(b"")
    files["empty"] = d / "empty.mp4"
    return files


def test_probe_video(media):
    info = probe(media["video"])
    assert isinstance(info, MediaInfo)
    assert info.has_video and info.has_audio and info.kind == "video"
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.path == media["video"]
    assert (info.width, info.height) == (160, 120) and info.size == (160, 120)  # probed once, with the streams


@pytest.mark.parametrize("key, duration", [("wav", 1.5), ("flac", 1.0), ("cover_mp3", 1.0)])
def test_probe_audio_files_are_audio(media, key, duration):
    info = probe(media[key])
    assert info.kind == "audio"
    assert not info.has_video  # the mp3's cover art is a video stream flagged attached_pic
    assert info.size is None  # ... and not a picture to size subtitles to
    assert info.duration == pytest.approx(duration, abs=0.1)


def test_decode_video_is_16k_mono_float32(media):
    audio = decode_audio(media["video"])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(2 * SAMPLE_RATE, abs=0.05 * SAMPLE_RATE)
    assert audio.flags.writeable  # callers may normalise in place
    assert 0.05 < np.abs(audio).max() <= 1.0  # lavfi's sine has amplitude 1/8


def test_decode_wav_is_sample_exact(media):
    audio = decode_audio(media["wav"])
    assert len(audio) == int(1.5 * SAMPLE_RATE)  # same rate: no resampling, no padding
    expected = np.sin(2 * np.pi * 440 * np.arange(len(audio)) / SAMPLE_RATE) / 8
    assert np.max(np.abs(audio - expected)) < 1e-3  # only 16-bit quantisation differs


def test_decode_resamples(media):
    assert len(decode_audio(media["flac"])) == pytest.approx(SAMPLE_RATE, abs=32)  # 44.1 kHz in
    assert len(decode_audio(media["wav"], sample_rate=8000)) == pytest.approx(12000, abs=16)


def test_non_ascii_and_space_path(media):
    assert "é" in media["unicode"].name and " " in media["unicode"].name
    assert probe(media["unicode"]).kind == "video"
    np.testing.assert_array_equal(decode_audio(media["unicode"]), decode_audio(media["video"]))


@pytest.mark.parametrize("name", ["talk: part 1.wav", "-starts-with-dash.wav", "pipe:1.wav"])
def test_names_that_look_like_protocols_or_options(media, tmp_path, name):
    path = tmp_path / name
    shutil.copyfile(media["wav"], path)
    assert probe(str(path)).kind == "audio"
    assert len(decode_audio(path)) == int(1.5 * SAMPLE_RATE)


@pytest.mark.parametrize("chunk_seconds", [0.5, 0.7, 30.0])
def test_chunks_concatenate_to_the_full_decode(media, chunk_seconds):
    full = decode_audio(media["video"])
    chunks = list(iter_audio_chunks(media["video"], chunk_seconds=chunk_seconds))
    size = int(chunk_seconds * SAMPLE_RATE)
    assert all(len(c) == size for c in chunks[:-1]) and 0 < len(chunks[-1]) <= size
    assert all(c.dtype == np.float32 for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), full)


def test_chunk_iterator_can_stop_early(media):
    chunks = iter_audio_chunks(media["video"], chunk_seconds=0.1)
    first = next(chunks)
    chunks.close()  # kills ffmpeg; must not hang or raise
    assert len(first) == int(0.1 * SAMPLE_RATE)


def _assert_one_line(exc: pytest.ExceptionInfo, path: Path) -> None:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    assert path.name in message  # the user is told which file
    assert len(message) < 400  # not ffmpeg's banner or configuration dump


def test_missing_file(tmp_path):
    path = tmp_path / "nope.mp4"
    for call in (probe, decode_audio, iter_audio_chunks):  # chunks: raised at the call
        with pytest.raises(InputError) as exc:
            call(path)
        _assert_one_line(exc, path)
        assert exc.value.exit_status == ExitStatus.INPUT_NOT_FOUND


def test_directory(tmp_path):
    with pytest.raises(InputError) as exc:
        probe(tmp_path)
    _assert_one_line(exc, tmp_path)
    assert "directory" in str(exc.value)


def test_zero_length_file(media):
    for call in (probe, decode_audio):
        with pytest.raises(MediaError) as exc:
            call(media["empty"])
        _assert_one_line(exc, media["empty"])
        assert exc.value.exit_status == ExitStatus.NOT_MEDIA


def test_not_media(media):
    for call in (probe, decode_audio, lambda p: list(iter_audio_chunks(p))):
        with pytest.raises(MediaError) as exc:
            call(media["not_media"])
        _assert_one_line(exc, media["not_media"])
        assert "Invalid data" in str(exc.value)  # ffmpeg's last line, kept as the reason


def test_video_without_audio(media):
    for call in (probe, decode_audio, lambda p: list(iter_audio_chunks(p))):
        with pytest.raises(NoAudioError) as exc:
            call(media["silent_video"])
        _assert_one_line(exc, media["silent_video"])
        assert exc.value.exit_status == ExitStatus.NO_AUDIO_STREAM


def test_bad_arguments(media):
    with pytest.raises(ValueError):
        iter_audio_chunks(media["wav"], chunk_seconds=0)
    with pytest.raises(ValueError):
        decode_audio(media["wav"], sample_rate=0)
