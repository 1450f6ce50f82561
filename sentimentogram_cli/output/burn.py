"""A new video with the styled ASS subtitles burned into its picture.

ffmpeg's ``subtitles`` filter (libass) draws the ASS export with the package's own fonts
(``fontsdir=``). Paths inside a filter argument are escaped at both levels ffmpeg parses them
(option value, then filtergraph), so folders with ``:``, ``'``, spaces or brackets work. The
video goes to a temporary file beside the output (``atomic_path``) and is renamed when ffmpeg has
finished: a killed run leaves no half video, and the original is never touched.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..assets import resource_dir
from ..atomic import atomic_path, remove_stale_temporaries
from ..errors import MediaError, SentimentogramError
from ..media import MediaInfo

__all__ = ["filter_escape", "subtitles_filter", "burn_subtitles"]

# Containers that take the input's audio as it is only when they are the input's own container;
# otherwise the audio is re-encoded to AAC, which every one of these accepts.
_AUDIO_COPY_SAFE = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}


def filter_escape(value: str) -> str:
    """``value`` as one option value inside an ffmpeg filtergraph given as a single argument:
    first the option-value level (``\\ ' :``), then the filtergraph level (``\\ ' [ ] , ;``)."""
    value = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def subtitles_filter(subtitles: Path, fonts: Path) -> str:
    """The ``subtitles`` filter drawing ``subtitles`` with the fonts in the folder ``fonts``."""
    return (f"subtitles=filename={filter_escape(str(Path(subtitles).resolve()))}"
            f":fontsdir={filter_escape(str(Path(fonts).resolve()))}")


def _ffmpeg(args: list[str], duration: float, progress) -> None:
    """Run ffmpeg, reporting ``out_time`` as a fraction of ``duration``; one-line errors."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: ffmpeg can never block on it
        try:
            process = subprocess.Popen(["ffmpeg", *args], stdout=subprocess.PIPE, stderr=errors,
                                       stdin=subprocess.DEVNULL, text=True)
        except FileNotFoundError:
            raise SentimentogramError("ffmpeg was not found: install ffmpeg (e.g. apt install ffmpeg)") from None
        try:
            for line in process.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.isdigit() and duration > 0 and progress:
                    progress(min(1.0, int(value) / 1e6 / duration))
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        if code != 0:
            errors.seek(0)
            lines = [ln.strip() for ln in errors.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            raise MediaError(f"ffmpeg could not burn the subtitles: {(lines or ['exit code %d' % code])[-1][:200]}")


def burn_subtitles(media: MediaInfo, ass: str, target: Path,
                   progress: Callable[[float], None] | None = None) -> Path:
    """Write ``target``: the video of ``media`` with the ASS subtitles ``ass`` drawn into its
    picture (the audio copied when the container allows, else AAC). ``progress`` hears the
    fraction encoded. Returns ``target``. ``media`` must have a picture (``has_video``)."""
    source, target = Path(media.path), Path(target)
    same_container = target.suffix.lower() == source.suffix.lower() and target.suffix.lower() in _AUDIO_COPY_SAFE
    remove_stale_temporaries(target)
    with tempfile.TemporaryDirectory(prefix="sentimentogram-") as folder:
        subtitles = Path(folder) / "subtitles.ass"
        subtitles.write_text(ass, encoding="utf-8")
        # ffmpeg picks the container from the name, so the temporary file keeps the suffix.
        with atomic_path(target, suffix=target.suffix) as part:
            _ffmpeg(["-y", "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
                     "-i", "file:" + str(source.resolve()), "-map", "0:v:0", "-map", "0:a?",
                     "-vf", subtitles_filter(subtitles, resource_dir("fonts")),
                     "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                     "-c:a", "copy" if same_container else "aac",
                     *(["-movflags", "+faststart"] if target.suffix.lower() in {".mp4", ".m4v", ".mov"} else []),
                     "file:" + str(part)], media.duration, progress)
    return target
