"""The picture ``burn`` writes and where its captions go: the output frame for each aspect
(cropped or blur-padded from the source), and the caption's safe area, size and anchor.

Safe areas are fractions of the output frame, chosen per shape:

- vertical (9:16, what TikTok, Instagram Reels and YouTube Shorts show): the bottom 20% holds the
  app's caption, user name, sound row and navigation, and the right edge holds a column of
  like/comment/share buttons (about 120-140 px of a 1080 px wide frame). Captions end 22% above
  the bottom (the 20% band plus 2% for the caption box's padding), keep 15% off the right edge
  (162 px of 1080: the button column and a gap) and 6% off the left, and stay below the top 12%
  (the app's tabs and status bar);
- square (1:1, feed posts): 10% from the bottom, 6% off each side: the feed draws nothing over
  the picture, so this is the broadcast graphics-safe margin plus a little room;
- landscape (16:9 and other wide sources): 8% from the bottom and 5% off each side: inside the
  SMPTE ST 2046-1 title-safe area (the central 90%), and above a player's control bar.

The caption text size is 6% of the frame's shorter side (the 6% of the height of the first burn
for a landscape picture; 65 px on a 1080 px wide vertical frame, about 26 characters a line
in its safe width, so a 42-character subtitle line wraps to two). ``--position``, ``--size`` and
``--margin`` override the anchor, the size and the margins.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError

__all__ = ["ASPECTS", "FILLS", "POSITIONS", "SafeArea", "SAFE_AREAS", "DEFAULT_SIZE_PERCENT", "Frame",
           "CaptionLayout", "frame_shape", "output_frame", "caption_layout", "parse_margin"]

ASPECTS = ("source", "16:9", "9:16", "1:1")
FILLS = ("blur", "crop")  # how a picture of another shape fills the frame
POSITIONS = ("bottom", "middle", "top")
DEFAULT_SIZE_PERCENT = 6.0  # caption text size, percent of the frame's shorter side
_ALIGNMENT = {"bottom": 2, "middle": 5, "top": 8}  # ASS numpad alignment, centred
_AUDIO_FRAME = 720  # the shorter side of the picture made for audio-only input


@dataclass(frozen=True)
class SafeArea:
    """Margins the captions keep from each edge, as fractions of the frame's height (top,
    bottom) and width (left, right)."""

    top: float
    bottom: float
    left: float
    right: float


SAFE_AREAS = {
    "vertical": SafeArea(top=0.12, bottom=0.22, left=0.06, right=0.15),
    "square": SafeArea(top=0.10, bottom=0.10, left=0.06, right=0.06),
    "landscape": SafeArea(top=0.08, bottom=0.08, left=0.05, right=0.05),
}


@dataclass(frozen=True)
class Frame:
    """The output picture: its size, and the ffmpeg filter chain from the source picture to it
    ("" when the source goes through unchanged)."""

    width: int
    height: int
    filter: str = ""


@dataclass(frozen=True)
class CaptionLayout:
    """Where the captions go in a ``width`` x ``height`` frame, in its pixels: the text size,
    the ASS alignment (2 bottom, 5 middle, 8 top, all centred) and the margins (``margin_v``
    from the anchored edge)."""

    width: int
    height: int
    font_size: float
    alignment: int
    margin_l: int
    margin_r: int
    margin_v: int


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def frame_shape(width: int, height: int) -> str:
    """"vertical", "square" or "landscape": which safe area a frame of this size gets."""
    ratio = width / height
    return "vertical" if ratio < 0.8 else "square" if ratio <= 1.25 else "landscape"


def _ratio(aspect: str) -> float:
    w, h = (int(x) for x in aspect.split(":"))
    return w / h


def output_frame(source: tuple[int, int] | None, aspect: str = "source", fill: str = "blur") -> Frame:
    """The frame ``burn`` writes for a picture of size ``source`` (None: audio only, a picture
    of ``_AUDIO_FRAME`` px on the shorter side is made) at ``aspect``.

    ``fill="crop"`` cuts the centre of the source to the aspect (no scaling); ``"blur"`` keeps
    the whole source, scaled to fit a frame whose longer side is the source's, over a blurred,
    enlarged copy of itself.
    """
    if aspect not in ASPECTS:
        raise UsageError(f"unknown aspect {aspect!r}: use one of {', '.join(ASPECTS)}")
    if fill not in FILLS:
        raise UsageError(f"unknown fill {fill!r}: use one of {', '.join(FILLS)}")
    if source is None:
        ratio = 16 / 9 if aspect == "source" else _ratio(aspect)
        short = _AUDIO_FRAME
        return Frame(_even(short * ratio), short) if ratio >= 1 else Frame(short, _even(short / ratio))
    width, height = source
    if aspect == "source":
        return Frame(_even(width), _even(height), "" if width % 2 == 0 and height % 2 == 0
                     else f"crop={_even(width)}:{_even(height)}")
    ratio = _ratio(aspect)
    if abs(width / height - ratio) < 0.01:  # already that shape
        return Frame(_even(width), _even(height), "" if width % 2 == 0 and height % 2 == 0
                     else f"crop={_even(width)}:{_even(height)}")
    if fill == "crop":
        w, h = (_even(height * ratio), _even(height)) if width / height > ratio else (_even(width), _even(width / ratio))
        return Frame(w, h, f"crop={w}:{h}")
    longer = max(width, height)
    w, h = (_even(longer), _even(longer / ratio)) if ratio >= 1 else (_even(longer * ratio), _even(longer))
    # The blurred backdrop is made at a quarter size: blurring is the slow part, and it is a blur.
    chain = (f"split=2[sg_bg][sg_fg];"
             f"[sg_bg]scale={_even(w / 4)}:{_even(h / 4)}:force_original_aspect_ratio=increase,"
             f"crop={_even(w / 4)}:{_even(h / 4)},boxblur=10:2,scale={w}:{h},setsar=1[sg_back];"
             f"[sg_fg]scale={w}:{h}:force_original_aspect_ratio=decrease,setsar=1[sg_front];"
             f"[sg_back][sg_front]overlay=(W-w)/2:(H-h)/2")
    return Frame(w, h, chain)


def parse_margin(text: str | None) -> tuple[float, float | None, float | None]:
    """``--margin``: "V", "V,SIDES" or "V,LEFT,RIGHT", percentages of the frame (V of its
    height from the anchored edge, the sides of its width) -> (v, left, right); None: default."""
    if text is None or not str(text).strip():
        return (-1.0, None, None)
    try:
        parts = [float(p) for p in str(text).split(",")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or not all(0 <= p <= 45 for p in parts):
        raise UsageError(f"--margin {text!r}: expected V, V,SIDES or V,LEFT,RIGHT, percentages from 0 to 45")
    if len(parts) == 1:
        return parts[0], None, None
    return (parts[0], parts[1], parts[1]) if len(parts) == 2 else (parts[0], parts[1], parts[2])


def caption_layout(width: int, height: int, *, position: str = "bottom", size: float | None = None,
                   margin: str | None = None) -> CaptionLayout:
    """The caption layout of a ``width`` x ``height`` frame: its shape's safe area, or the
    overrides (``position`` bottom/middle/top, ``size`` percent of the shorter side, ``margin``
    as ``parse_margin`` reads it)."""
    if position not in POSITIONS:
        raise UsageError(f"unknown position {position!r}: use one of {', '.join(POSITIONS)}")
    if size is not None and not 1 <= size <= 20:
        raise UsageError(f"--size {size}: expected a percentage of the picture's shorter side from 1 to 20")
    safe = SAFE_AREAS[frame_shape(width, height)]
    v, left, right = parse_margin(margin)
    if v < 0:
        v = (safe.top if position == "top" else safe.bottom) * 100
    left = safe.left * 100 if left is None else left
    right = safe.right * 100 if right is None else right
    if left + right >= 80:
        raise UsageError(f"--margin {margin!r}: the side margins leave no room for the captions")
    font_size = min(width, height) * (size if size is not None else DEFAULT_SIZE_PERCENT) / 100
    return CaptionLayout(width, height, font_size, _ALIGNMENT[position], round(width * left / 100),
                         round(width * right / 100), round(height * v / 100))
