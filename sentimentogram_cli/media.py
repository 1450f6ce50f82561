"""ffmpeg in, 16 kHz mono float32 out: probing and decoding any audio or video file in memory.

ffmpeg is run through ffmpeg-python and its raw ``f32le`` output is read from a pipe, so no
temporary WAV file is ever written. Every failure becomes one of the typed errors in
``errors.py`` with a one-line message that names the file (never ffmpeg's multi-line dump).
"""

from __future__ import annotations

import collections
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from .constants import AUDIO_EXTENSIONS, CHUNK_SAMPLES, SAMPLE_RATE
from .errors import InputError, MediaError, NoAudioError, SentimentogramError

__all__ = ["MediaInfo", "probe", "decode_audio", "iter_audio_chunks", "chunk_audio", "resample", "missing_ffmpeg"]

_BYTES_PER_SAMPLE = 4  # float32
# Keep ffmpeg quiet except for real errors: the last of them becomes our one-line message.
_QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error")


@dataclass
class MediaInfo:
    """What ffprobe says about an input file."""

    path: Path
    duration: float  # seconds; 0.0 when the container does not say
    has_video: bool  # a real picture stream (attached cover art does not count)
    has_audio: bool
    width: int | None = None  # of that picture, in pixels; None without one
    height: int | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the picture, or None (audio, cover art only, size unknown)."""
        return (self.width, self.height) if self.width and self.height else None

    @property
    def kind(self) -> str:
        """``"video"`` or ``"audio"``: decides whether the page shows a <video> or an <audio>."""
        if not self.has_video or self.path.suffix.lower() in AUDIO_EXTENSIONS:
            return "audio"
        return "video"


def _ffmpeg_url(path: Path) -> str:
    # The "file:" protocol stops ffmpeg from reading names such as "pipe:1" or "http:x.mp4"
    # (or ones with a colon) as protocols; the absolute path keeps a leading "-" harmless too.
    return "file:" + str(path.resolve())


def _check_file(path: str | os.PathLike) -> Path:
    """The checks ffmpeg reports badly: missing, a directory, unreadable, empty."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a media file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise MediaError(f"{path} is empty (0 bytes)")
    return path


def _last_error_line(stderr: bytes | None, path: Path) -> str:
    """ffmpeg's last meaningful stderr line, without the file name it repeats."""
    lines = [ln.strip() for ln in (stderr or b"").decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("Conversion failed", "Exiting"))]
    if not lines:
        return "ffmpeg could not read it"
    line = lines[-1]
    for prefix in (_ffmpeg_url(path), str(path.resolve()), str(path)):
        if line.startswith(prefix + ":"):
            line = line[len(prefix) + 1 :].strip()
            break
    return line[:200]


def missing_ffmpeg(tool: str = "ffmpeg") -> SentimentogramError:
    """The error for an ffmpeg or ffprobe executable that is not installed (every caller's)."""
    return SentimentogramError(f"{tool} was not found: install ffmpeg (e.g. apt install ffmpeg)")


def _duration(data: dict) -> float:
    candidates = [data.get("format", {}).get("duration")]
    candidates += [s.get("duration") for s in data.get("streams", [])]
    for value in candidates:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return round(seconds, 3)
    # Matroska/WebM often keep per-stream durations only as "HH:MM:SS.nnnnnnnnn" tags.
    for stream in data.get("streams", []):
        tag = (stream.get("tags") or {}).get("DURATION")
        if tag:
            try:
                h, m, s = tag.split(":")
                return round(int(h) * 3600 + int(m) * 60 + float(s), 3)
            except ValueError:
                continue
    return 0.0


def probe(path: str | os.PathLike) -> MediaInfo:
    """Duration, streams and picture size of ``path``; raises InputError, MediaError or NoAudioError."""
    path = _check_file(path)
    try:
        data = ffmpeg.probe(_ffmpeg_url(path), v="error")
    except FileNotFoundError as exc:  # the ffprobe executable itself is missing
        raise missing_ffmpeg("ffprobe") from exc
    except ffmpeg.Error as exc:
        raise MediaError(f"{path} is not a media file ffmpeg can read: "
                         f"{_last_error_line(exc.stderr, path)}") from None
    except ValueError as exc:  # undecodable JSON from odd metadata
        raise MediaError(f"{path}: ffprobe output could not be read ({exc})") from None

    streams = data.get("streams", [])
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    # Cover art in mp3/m4a/flac is a "video" stream flagged attached_pic: not a picture to play.
    pictures = [s for s in streams
                if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]
    if not streams:
        raise MediaError(f"{path} is not a media file ffmpeg can read: it has no streams")
    if not has_audio:
        raise NoAudioError(f"{path} has no audio stream: there is no speech to transcribe")
    sized = next((s for s in pictures if s.get("width") and s.get("height")), None)
    return MediaInfo(path=path, duration=_duration(data), has_video=bool(pictures), has_audio=True,
                     width=int(sized["width"]) if sized else None, height=int(sized["height"]) if sized else None)


def _decoder(path: Path, sample_rate: int):
    """The ffmpeg command: first audio stream, downmixed and resampled, raw float32 to stdout."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, not {sample_rate}")
    return (
        ffmpeg.input(_ffmpeg_url(path))
        .output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=sample_rate, map="0:a:0")
        .global_args(*_QUIET)
    )


def _decode_failure(path: Path, stderr: bytes | None) -> SentimentogramError:
    """The typed error for a failed decode: probe() knows best why (no audio, not media)."""
    try:
        probe(path)
    except SentimentogramError as exc:
        return exc
    return MediaError(f"{path}: ffmpeg could not decode its audio: {_last_error_line(stderr, path)}")


def decode_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The whole first audio stream as mono float32 in [-1, 1] at ``sample_rate``, in memory."""
    path = _check_file(path)
    try:
        out, _ = _decoder(path, sample_rate).run(cmd="ffmpeg", capture_stdout=True, capture_stderr=True)
    except FileNotFoundError as exc:
        raise missing_ffmpeg("ffmpeg") from exc
    except ffmpeg.Error as exc:
        raise _decode_failure(path, exc.stderr) from None
    n_samples = len(out) // _BYTES_PER_SAMPLE
    if n_samples == 0:
        raise MediaError(f"{path} contains no audio samples")
    # bytes are read-only: copy once so callers may normalise or pad in place.
    return np.frombuffer(out, dtype=np.float32, count=n_samples).copy()


def iter_audio_chunks(
    path: str | os.PathLike, chunk_seconds: float = 30.0, sample_rate: int = SAMPLE_RATE
) -> Iterator[np.ndarray]:
    """Mono float32 chunks of ``chunk_seconds`` (the last one shorter), streamed from ffmpeg.

    Memory stays at one chunk however long the input is. Path errors are raised here, at the
    call; decoding errors when the chunks are iterated. Closing the iterator early stops ffmpeg.
    """
    path = _check_file(path)
    chunk_samples = int(round(chunk_seconds * sample_rate))
    if chunk_samples <= 0:
        raise ValueError(f"chunk_seconds must be positive, not {chunk_seconds}")
    return _stream_chunks(path, chunk_samples, sample_rate)


def _stream_chunks(path: Path, chunk_samples: int, sample_rate: int) -> Iterator[np.ndarray]:
    try:
        process = _decoder(path, sample_rate).run_async(cmd="ffmpeg", pipe_stdout=True, pipe_stderr=True)
    except FileNotFoundError as exc:
        raise missing_ffmpeg("ffmpeg") from exc
    # Drain stderr on a thread: a file full of decode warnings would otherwise fill the pipe
    # and block ffmpeg while we wait on stdout. Only the tail is kept for the error message.
    stderr_tail: collections.deque[bytes] = collections.deque(maxlen=50)
    drain = threading.Thread(target=lambda: stderr_tail.extend(process.stderr), daemon=True)
    drain.start()
    chunk_bytes = chunk_samples * _BYTES_PER_SAMPLE
    total = 0
    finished = False
    try:
        while True:
            buffer = bytearray(chunk_bytes)
            view = memoryview(buffer)
            filled = 0
            while filled < chunk_bytes:
                n = process.stdout.readinto(view[filled:])
                if not n:
                    break
                filled += n
            filled -= filled % _BYTES_PER_SAMPLE
            if filled:
                total += filled
                # bytearray-backed, so the chunk is writable and owns its memory.
                yield np.frombuffer(buffer, dtype=np.float32, count=filled // _BYTES_PER_SAMPLE)
            if filled < chunk_bytes:
                break
        process.stdout.close()
        returncode = process.wait()
        drain.join(timeout=5)
        finished = True
        if returncode != 0:
            raise _decode_failure(path, b"".join(stderr_tail))
        if total == 0:
            raise MediaError(f"{path} contains no audio samples")
    finally:
        if not finished:  # the caller stopped early (or an error): do not leave ffmpeg running
            process.kill()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            drain.join(timeout=5)  # ffmpeg is gone, so stderr hits EOF and the thread ends
            for stream in (process.stdout, process.stderr):
                try:
                    stream.close()
                except OSError:
                    pass


def chunk_audio(audio: np.ndarray, chunk_samples: int = CHUNK_SAMPLES) -> list[np.ndarray]:
    """A recording held in memory as the stages take it: views of ``chunk_samples`` (30 s) each,
    the last one shorter, as ``iter_audio_chunks`` yields them from a file."""
    return [audio[i: i + chunk_samples] for i in range(0, len(audio), chunk_samples)]


def resample(audio: np.ndarray, sample_rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 ``audio`` at ``sample_rate`` Hz as ``target`` Hz, by ffmpeg's resampler (the
    same one that decodes files), through pipes."""
    command = ["ffmpeg", *_QUIET, "-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
               "-f", "f32le", "-acodec", "pcm_f32le", "-ar", str(target), "-ac", "1", "pipe:1"]
    try:
        done = subprocess.run(command, input=np.ascontiguousarray(audio, np.float32).tobytes(), capture_output=True)
    except FileNotFoundError as exc:
        raise missing_ffmpeg("ffmpeg") from exc
    if done.returncode != 0:
        raise MediaError(f"ffmpeg could not resample the array from {sample_rate} Hz: "
                         f"{_last_error_line(done.stderr, Path('pipe:0'))}")
    return np.frombuffer(done.stdout, dtype=np.float32).copy()
