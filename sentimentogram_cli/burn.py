"""`sentimentogram burn`: a new video with the styled ASS subtitles burned into its picture.

ffmpeg's ``subtitles`` filter (libass) draws the ASS export with the package's own fonts
(``fontsdir=``). Paths inside a filter argument are escaped at both levels ffmpeg parses them
(option value, then filtergraph), so folders with ``:``, ``'``, spaces or brackets work. The
video goes to a temporary file beside the output and is renamed when ffmpeg has finished: a
killed run leaves no half video, and the original is never touched.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import MediaError, OutputError, SentimentogramError

__all__ = ["BurnResult", "video_size", "filter_escape", "subtitles_filter", "burned_path", "burn_file"]

# Containers that take the input's audio as it is only when they are the input's own container;
# otherwise the audio is re-encoded to AAC, which every one of these accepts.
_AUDIO_COPY_SAFE = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}


@dataclass
class BurnResult:
    input: Path
    output: Path
    duration: float  # seconds of media
    n_words: int
    analysis_from: str  # "document" (--analysis), "cache" or "models"
    seconds: float  # wall time, analysis included


def video_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the first real picture stream, or None (audio, cover art only)."""
    import ffmpeg

    try:
        streams = ffmpeg.probe("file:" + str(Path(path).resolve()), v="error").get("streams", [])
    except (ffmpeg.Error, FileNotFoundError, ValueError):
        return None
    for s in streams:
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic"):
            if s.get("width") and s.get("height"):
                return int(s["width"]), int(s["height"])
    return None


def filter_escape(value: str) -> str:
    """``value`` as one option value inside an ffmpeg filtergraph given as a single argument:
    first the option-value level (``\\ ' :``), then the filtergraph level (``\\ ' [ ] , ;``)."""
    value = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def subtitles_filter(subtitles: Path, fonts: Path) -> str:
    return (f"subtitles=filename={filter_escape(str(Path(subtitles).resolve()))}"
            f":fontsdir={filter_escape(str(Path(fonts).resolve()))}")


def burned_path(input_path: Path, out: Path | None = None) -> Path:
    """``--out``, a file in ``--out`` when it is a folder, or ``<stem>.subtitled<suffix>``."""
    input_path = Path(input_path)
    name = f"{input_path.stem}.subtitled{input_path.suffix or '.mp4'}"
    if out is None:
        return input_path.with_name(name)
    return Path(out) / name if Path(out).is_dir() else Path(out)


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


def burn_file(path: Path, options, *, out: Path | None = None, analysis_path: Path | None = None,
              models=None, progress=None) -> BurnResult:
    """Write ``path`` with its styled subtitles burned in; ``options`` is a ``RenderOptions``
    (culture, age, style file, and the models and cache for the analysis)."""
    from .analysis_cache import load_document
    from .assets import resource_dir
    from .exports import check_outputs, remove_stale_temporaries, to_ass
    from .media import probe
    from .pipeline import analysis_for, style_overrides

    started = time.perf_counter()
    path = Path(path)
    info = probe(path)
    if not info.has_video:
        raise MediaError(f"{path} has no video stream: there is no picture to burn subtitles into")
    target = burned_path(path, out)
    if not target.suffix:
        raise OutputError(f"{target} has no extension: name the video file, e.g. {target.name}.mp4")
    check_outputs({"video": target}, path)
    overrides = style_overrides(options)
    if analysis_path is not None:
        analysis, source = load_document(analysis_path), "document"
    else:
        analysis, cached, _ = analysis_for(path, options, models, progress, info)
        source = "cache" if cached else "models"
    ass = to_ass(analysis, options.culture, options.age, overrides, video_size(path))
    same_container = target.suffix.lower() == path.suffix.lower() and target.suffix.lower() in _AUDIO_COPY_SAFE
    remove_stale_temporaries(target)
    with tempfile.TemporaryDirectory(prefix="sentimentogram-") as folder:
        subtitles = Path(folder) / "subtitles.ass"
        subtitles.write_text(ass, encoding="utf-8")
        # ffmpeg picks the container from the name, so the temporary file keeps the suffix.
        fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}", dir=target.parent)
        os.close(fd)
        try:
            if progress:
                progress("burn", 0.0)
            _ffmpeg(["-y", "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
                     "-i", "file:" + str(path.resolve()), "-map", "0:v:0", "-map", "0:a?",
                     "-vf", subtitles_filter(subtitles, resource_dir("fonts")),
                     "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                     "-c:a", "copy" if same_container else "aac",
                     *(["-movflags", "+faststart"] if target.suffix.lower() in {".mp4", ".m4v", ".mov"} else []),
                     "file:" + part], info.duration, (lambda f: progress("burn", f)) if progress else None)
            umask = os.umask(0)  # mkstemp made it 0600: give it the mode any new file gets
            os.umask(umask)
            os.chmod(part, 0o666 & ~umask)
            os.replace(part, target)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
    if progress:
        progress("burn", 1.0)
    return BurnResult(input=path, output=target, duration=analysis.duration, n_words=len(analysis.words),
                      analysis_from=source, seconds=time.perf_counter() - started)
