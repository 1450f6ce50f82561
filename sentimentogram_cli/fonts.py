"""The caption font the user asks for with ``--font NAME|FILE``, found before anything runs.

A NAME is one of the shipped families (``FONT_FACES``, in the package's ``fonts/`` folder) or a
family fontconfig has installed: ``fc-match`` must answer with that very family, never its
closest substitute. A FILE (.ttf .otf .ttc .woff .woff2) is read by ``fc-scan`` for its family
name. Anything else is one line of error, so neither the page nor the burn falls back in silence.
The page embeds a chosen file as an ``@font-face``; the burn hands it to libass with the shipped
fonts (``font_files``).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .assets import resource_dir
from .errors import UsageError
from .typography import FONT_FACES

__all__ = ["FONT_SUFFIXES", "FontChoice", "FontError", "resolve_font", "font_face_rule", "font_files",
           "shipped_families"]

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".woff", ".woff2")
_CSS_FORMAT = {".ttf": "truetype", ".ttc": "truetype", ".otf": "opentype", ".woff": "woff", ".woff2": "woff2"}
_FAMILY = re.compile(r"[A-Za-z0-9][A-Za-z0-9 \-_.]{0,63}")


class FontError(UsageError):
    """A --font that names no shipped or installed family, or no readable font file."""


@dataclass(frozen=True)
class FontChoice:
    """A caption font: its family name (what CSS and libass call it) and, unless it is a shipped
    family, the file it comes from."""

    family: str
    file: Path | None = None


def shipped_families() -> list[str]:
    """The families in the package's fonts/ folder."""
    return list(dict.fromkeys(face.family for face in FONT_FACES))


def _fontconfig(tool: str, args: list[str]) -> str:
    if not shutil.which(tool):
        raise FontError(f"--font needs fontconfig's {tool} to read fonts that are not shipped: "
                        f"install fontconfig, or use one of {', '.join(shipped_families())}")
    done = subprocess.run([tool, *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def _checked_family(family: str, where: str) -> str:
    family = family.strip()
    if not _FAMILY.fullmatch(family):
        raise FontError(f"{where}: its family name {family!r} has characters a caption style cannot carry")
    return family


def resolve_font(spec: str) -> FontChoice:
    """``--font``'s value as a ``FontChoice``; a FontError (one line) when there is no such font."""
    spec = str(spec).strip()
    if not spec:
        raise FontError("--font is empty: give a family name or a font file")
    shipped = {family.lower(): family for family in shipped_families()}
    if spec.lower() in shipped:
        return FontChoice(shipped[spec.lower()])
    path = Path(spec).expanduser()
    if path.suffix.lower() in FONT_SUFFIXES or path.is_file():
        if not path.is_file():
            raise FontError(f"font file {path} does not exist")
        if path.suffix.lower() not in FONT_SUFFIXES:
            raise FontError(f"{path} is not a font file: expected one of {', '.join(FONT_SUFFIXES)}")
        out = _fontconfig("fc-scan", ["--format", "%{family[0]}\n", str(path)]).strip().splitlines()
        if not out or not out[0].strip():
            raise FontError(f"{path} is not a font file fontconfig can read")
        return FontChoice(_checked_family(out[0], str(path)), path.resolve())
    out = _fontconfig("fc-match", ["--format", "%{family}\n%{file}", spec]).splitlines()
    families = [f.strip() for f in out[0].split(",")] if out else []
    if len(out) < 2 or spec.lower() not in (f.lower() for f in families):
        found = f" (the closest is {families[0]})" if families and families[0] else ""
        raise FontError(f"font {spec!r} is neither shipped nor installed{found}: give its file with "
                        f"--font PATH, or use one of {', '.join(shipped_families())}")
    family = next(f for f in families if f.lower() == spec.lower())
    return FontChoice(_checked_family(family, spec), Path(out[1].strip()).resolve())


def font_face_rule(choice: FontChoice | None) -> str:
    """The page's ``@font-face`` rule for a chosen font file (base64 inside the page); "" for a
    shipped family or none (the page has those already)."""
    if choice is None or choice.file is None:
        return ""
    data = base64.b64encode(choice.file.read_bytes()).decode("ascii")
    kind = _CSS_FORMAT.get(choice.file.suffix.lower(), "truetype")
    return (f'@font-face{{font-family:"{choice.family}";font-display:block;'
            f'src:url(data:font/{kind};base64,{data}) format("{kind}")}}')


def font_files(choice: FontChoice | None = None) -> list[Path]:
    """The font files libass gets: every shipped face, and the chosen file."""
    fonts = resource_dir("fonts")
    files = [fonts / name for name in dict.fromkeys(face.file for face in FONT_FACES)]
    return files + ([choice.file] if choice is not None and choice.file is not None else [])
