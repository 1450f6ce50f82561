"""A new video with the styled ASS subtitles burned into its picture.

ffmpeg's ``subtitles`` filter (libass) draws the ASS made for the output frame (``layout``):
the source picture as it is, cropped or blur-padded to another aspect, or, for audio-only input,
a waveform (``showwaves``) or a still image. The fonts go to libass as one folder
(``fontsdir=``) holding the shipped faces and the ``--font`` file, and before the encode a
one-frame probe asks libass which face it picks for every family the ASS names: a family it would
draw in a system substitute is refused in one line (``FontError``) instead of burned in silence.

Paths inside a filter argument are escaped at both levels ffmpeg parses them (option value, then
filtergraph), so folders with ``:``, ``'``, spaces or brackets work. The video goes to a temporary
file beside the output (``atomic_path``) and is renamed when ffmpeg has finished: a killed run
leaves no half video, and the original is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_path, remove_stale_temporaries
from ..errors import MediaError, UsageError
from ..fonts import FontError, font_files
from ..media import MediaInfo, missing_ffmpeg
from .layout import Frame

__all__ = ["BACKDROPS", "X264_PRESETS", "WAVEFORM_COLOUR", "filter_escape", "subtitles_filter", "fonts_folder", "check_fonts",
           "image_size", "Picture", "burn_subtitles"]

BACKDROPS = ("waveform",)  # or an image file: the picture of audio-only input
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
WAVEFORM_COLOUR = "#6b9bd2"
_CANVAS = "#121317"  # behind the waveform: the caption box colour of the presets
_RATE = 25  # frames a second of a picture made for audio
# Containers that take the input's audio as it is only when they are the input's own container;
# otherwise the audio is re-encoded to AAC, which every one of these accepts.
_AUDIO_COPY_SAFE = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}
_FONTSELECT = re.compile(r"fontselect: \((.*), \d+, \d+\) -> (.*), \d+, \S*\s*$")


def filter_escape(value: str) -> str:
    """``value`` as one option value inside an ffmpeg filtergraph given as a single argument:
    first the option-value level (``\\ ' :``), then the filtergraph level (``\\ ' [ ] , ;``)."""
    value = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def subtitles_filter(subtitles: Path, fonts: Path) -> str:
    """The ``subtitles`` filter drawing ``subtitles`` with the fonts in the folder ``fonts``."""
    return (f"subtitles=filename={filter_escape(str(Path(subtitles).resolve()))}"
            f":fontsdir={filter_escape(str(Path(fonts).resolve()))}")


def fonts_folder(files: list[Path], folder: Path) -> Path:
    """``folder`` filled with links to ``files`` (copies where links are not allowed): libass
    reads every file of its fontsdir, so it gets fonts only."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, file in enumerate(files):
        link = folder / f"{n:02d}-{Path(file).name}"
        try:
            os.symlink(Path(file).resolve(), link)
        except OSError:
            shutil.copyfile(file, link)
    return folder


def _ass_families(ass: str) -> list[str]:
    families = re.findall(r"^Style: [^,]*,([^,]+),", ass, flags=re.M) + re.findall(r"\\fn([^\\}]+)", ass)
    return list(dict.fromkeys(f.strip() for f in families if f.strip()))


def check_fonts(ass: str, extra_fonts: list[Path] = ()) -> None:
    """Raise a FontError (one line) unless libass draws every family ``ass`` names with a shipped
    face or one of ``extra_fonts``, never a system substitute. A one-frame probe: run it before
    the slow stages (the style lines are enough, no event is needed)."""
    header = ass.split("[Events]", 1)[0]
    events = [f"Dialogue: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,{{\\fn{family}}}Ag" for family in _ass_families(ass)]
    allowed_paths = {Path(p).resolve() for p in extra_fonts}
    with tempfile.TemporaryDirectory(prefix="sentimentogram-") as folder:
        fonts = fonts_folder([*font_files(), *extra_fonts], Path(folder) / "fonts")
        probe = Path(folder) / "fonts.ass"
        probe.write_text(header + "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
                         "Effect, Text\n" + "\n".join(events) + "\n", encoding="utf-8")
        try:
            done = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "debug", "-f", "lavfi", "-i",
                                   "color=c=black:s=64x64:r=1:d=1", "-vf", subtitles_filter(probe, fonts),
                                   "-frames:v", "1", "-f", "null", "-"], capture_output=True, text=True,
                                  errors="replace")
        except FileNotFoundError:
            raise missing_ffmpeg() from None
    for line in done.stderr.splitlines():
        found = _FONTSELECT.search(line)
        if found:
            family, face = found.group(1), found.group(2).strip()
            if "/" in face and Path(face).resolve() not in allowed_paths:
                raise FontError(f"font {family!r} is not shipped and not the --font file: libass would draw it "
                                f"in {Path(face).name} (check --font and the style file's font_family)")
        elif "fontselect: failed to find any fallback" in line:
            raise FontError(f"libass found no font for the captions: {line.split('] ', 1)[-1].strip()[:160]}")
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if "rror" in ln]
        raise MediaError(f"ffmpeg could not draw the subtitles: {(lines or ['exit code %d' % done.returncode])[-1][:200]}")


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) of the picture in an image file (``--backdrop``), or None when ffprobe
    finds none."""
    try:
        done = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                               "stream=width,height", "-of", "csv=p=0", "file:" + str(Path(path).resolve())],
                              capture_output=True, text=True)
    except FileNotFoundError:
        raise missing_ffmpeg("ffprobe") from None
    parts = done.stdout.strip().split(",")
    if done.returncode != 0 or len(parts) < 2 or not all(p.strip().isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def _ffmpeg(args: list[str], duration: float, progress) -> None:
    """Run ffmpeg, reporting ``out_time`` as a fraction of ``duration``; one-line errors."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: ffmpeg can never block on it
        try:
            process = subprocess.Popen(["ffmpeg", *args], stdout=subprocess.PIPE, stderr=errors,
                                       stdin=subprocess.DEVNULL, text=True)
        except FileNotFoundError:
            raise missing_ffmpeg() from None
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


@dataclass(frozen=True)
class Picture:
    """What the burned video shows and how it is encoded: ``frame`` (size and the filter from
    the source picture, ``layout.output_frame``), the range of the input (``start`` seconds,
    ``duration`` or None: to the end), the picture of audio-only input (``backdrop``: "waveform"
    or an image file, framed by ``frame``) and the x264 ``preset``."""

    frame: Frame
    start: float = 0.0
    duration: float | None = None
    backdrop: str | Path = "waveform"
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        if self.preset not in X264_PRESETS:
            raise UsageError(f"unknown x264 preset {self.preset!r}: use one of {', '.join(X264_PRESETS)}")


def _hex(color: str) -> str:
    return "0x" + color.lstrip("#")


def _inputs_and_graph(media: MediaInfo, picture: Picture, subtitles: str) -> tuple[list[str], str, str]:
    """ffmpeg's input arguments, the filtergraph ending in [sg_v], and the audio to map."""
    frame = picture.frame
    trim = [*(["-ss", f"{picture.start:.3f}"] if picture.start > 0 else []),
            *(["-t", f"{picture.duration:.3f}"] if picture.duration is not None else [])]
    source = ["-i", "file:" + str(Path(media.path).resolve())]
    chain = lambda label: f"[{label}]" + (f"{frame.filter}," if frame.filter else "")  # noqa: E731
    if media.has_video:
        return [*trim, *source], f"{chain('0:v:0')}{subtitles},format=yuv420p[sg_v]", "0:a?"
    if picture.backdrop != "waveform":
        image = ["-loop", "1", "-framerate", str(_RATE), "-i", "file:" + str(Path(picture.backdrop).resolve())]
        return [*image, *trim, *source], f"{chain('0:v:0')}{subtitles},format=yuv420p[sg_v]", "1:a:0"
    wave_h = max(2, frame.height // 3 // 2 * 2)
    graph = (f"color=c={_hex(_CANVAS)}:s={frame.width}x{frame.height}:r={_RATE}[sg_canvas];"
             f"[0:a:0]showwaves=s={frame.width}x{wave_h}:mode=cline:colors={_hex(WAVEFORM_COLOUR)}:rate={_RATE}[sg_wave];"
             f"[sg_canvas][sg_wave]overlay=0:(H-h)/2:shortest=1,{subtitles},format=yuv420p[sg_v]")
    return [*trim, *source], graph, "0:a:0"


def _codecs(suffix: str, preset: str, copy_audio: bool) -> list[str]:
    """Encoder arguments for the container ``suffix``: VP9 and Opus for .webm (what it takes),
    H.264 (x264 ``preset``, CRF 18) and AAC for everything else."""
    audio = ["-c:a", "copy"] if copy_audio else None
    if suffix == ".webm":
        # x264's presets map onto libvpx's speed: ultrafast..veryfast are realtime at cpu-used 8..6.
        speed = {"ultrafast": 8, "superfast": 7, "veryfast": 6, "faster": 5, "fast": 4}.get(preset, 2)
        return ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-deadline", "realtime" if speed >= 5 else "good",
                "-cpu-used", str(speed), "-row-mt", "1", "-pix_fmt", "yuv420p", *(audio or ["-c:a", "libopus", "-b:a", "128k"])]
    return ["-c:v", "libx264", "-preset", preset, "-crf", "18", "-pix_fmt", "yuv420p", *(audio or ["-c:a", "aac"])]


def burn_subtitles(media: MediaInfo, ass: str, target: Path, progress: Callable[[float], None] | None = None,
                   *, picture: Picture | None = None, extra_fonts: list[Path] = ()) -> Path:
    """Write ``target``: the picture of ``media`` (see ``Picture``) with the ASS subtitles ``ass``
    drawn into it, and its audio (copied when the container allows and nothing is trimmed, else
    AAC; the container is ``target``'s suffix, .webm gets VP9 and Opus, any other H.264). ``extra_fonts``: font files besides the shipped ones (``--font FILE``); check them
    with ``check_fonts`` first. ``progress`` hears the fraction encoded. Returns ``target``."""
    source, target = Path(media.path), Path(target)
    picture = picture or Picture(Frame(*(media.size or (1280, 720))))
    if not media.has_video and not media.has_audio:
        raise MediaError(f"{source} has neither picture nor sound to burn subtitles into")
    trimmed = picture.start > 0 or picture.duration is not None
    same_container = (target.suffix.lower() == source.suffix.lower() and target.suffix.lower() in _AUDIO_COPY_SAFE
                      and media.has_video and not trimmed)
    duration = picture.duration if picture.duration is not None else max(0.0, media.duration - picture.start)
    remove_stale_temporaries(target)
    with tempfile.TemporaryDirectory(prefix="sentimentogram-") as folder:
        subtitles = Path(folder) / "subtitles.ass"
        subtitles.write_text(ass, encoding="utf-8")
        fonts = fonts_folder([*font_files(), *extra_fonts], Path(folder) / "fonts")
        inputs, graph, audio = _inputs_and_graph(media, picture, subtitles_filter(subtitles, fonts))
        # ffmpeg picks the container from the name, so the temporary file keeps the suffix.
        with atomic_path(target, suffix=target.suffix) as part:
            _ffmpeg(["-y", "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
                     *inputs, "-filter_complex", graph, "-map", "[sg_v]", "-map", audio,
                     *_codecs(target.suffix.lower(), picture.preset, same_container), "-shortest",
                     *(["-movflags", "+faststart"] if target.suffix.lower() in {".mp4", ".m4v", ".mov"} else []),
                     "file:" + str(part)], duration, progress)
    return target
