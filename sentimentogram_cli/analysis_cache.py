"""The analysis cache and the resume records: restyling and reruns never re-run a model.

An analysis document is stored under a key made of the input's content hash (SHA-256 of its
bytes) and the identities and settings of everything that produced it (ASR model and backend,
language, window and hop, the emotion head's checkpoint hash, the document schema). Styling
choices (culture, age, style file, formats) are not in it, so changing them reuses the analysis.

Resume: before a file's outputs are written, a record of what they will be (a render key) is
written; once they are written, each output's stamp (size, mtime, inode) is added to it. The
outputs count as up to date when the record matches and every output still has its stamp: a run
killed between the two leaves no stamps, and an output rewritten since (``restyle`` writing the
same page in another style, an editor) has another stamp, so either is rendered again.

Layout under the cache folder (default ``$XDG_CACHE_HOME/sentimentogram``)::

    analyses/<key>.json     analysis documents
    hashes/<stat key>       content hash of a file, by path, size, mtime and inode
    outputs/<path key>.json resume records
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from .document import Analysis
from .atomic import atomic_write_text
from .errors import OutputError

__all__ = ["CACHE_ENV", "default_cache_dir", "file_sha256", "cache_key", "AnalysisCache"]

CACHE_ENV = "SENTIMENTOGRAM_CACHE_DIR"
_BLOCK = 1 << 20


def default_cache_dir() -> Path:
    """``$SENTIMENTOGRAM_CACHE_DIR``, else ``$XDG_CACHE_HOME/sentimentogram``, else ``~/.cache/sentimentogram``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "sentimentogram"


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes, as hex."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def cache_key(parts: dict | list) -> str:
    """A stable hash of JSON-able ``parts`` (a dict's key order does not matter)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class AnalysisCache:
    """The cache folder. Nothing here is precious: an unreadable entry is a miss, and a cache
    that cannot be written only costs the next run its speed (``notes`` say so)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root).expanduser() if root else default_cache_dir()
        self.notes: list[str] = []

    @classmethod
    def of(cls, cache: "bool | str | os.PathLike | AnalysisCache | None") -> "AnalysisCache | None":
        """What the API's ``cache=`` argument asks for: None or False, no cache; True, the
        default folder; a folder; or a cache already made."""
        if cache is None or cache is False:
            return None
        if isinstance(cache, AnalysisCache):
            return cache
        return cls(None if cache is True else Path(cache))

    # -- small atomic files --------------------------------------------------------------------

    def _write(self, path: Path, text: str) -> bool:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text)
            return True
        except (OSError, OutputError) as exc:
            note = f"cache not written ({self.root}): {getattr(exc, 'strerror', None) or exc}"
            if note not in self.notes:
                self.notes.append(note)
            return False

    @staticmethod
    def _read(path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    # -- content hashes, remembered by file identity ---------------------------------------------

    def content_hash(self, path: Path) -> str:
        """SHA-256 of the file's bytes; recomputed only when its path, size, mtime or inode change."""
        path = Path(path).resolve()
        st = path.stat()
        memo = self.root / "hashes" / cache_key([str(path), st.st_size, st.st_mtime_ns, st.st_ino])
        known = self._read(memo)
        if known and len(known.strip()) == 64:
            return known.strip()
        digest = file_sha256(path)
        self._write(memo, digest)
        return digest

    # -- analyses ------------------------------------------------------------------------------

    def _analysis_path(self, key: str) -> Path:
        return self.root / "analyses" / f"{key}.json"

    def load(self, key: str) -> Analysis | None:
        """The analysis stored under ``key``, or None (a damaged entry is removed)."""
        text = self._read(self._analysis_path(key))
        if text is None:
            return None
        try:
            return Analysis.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError):  # damaged or from another schema: a miss
            self._analysis_path(key).unlink(missing_ok=True)
            return None

    def store(self, key: str, analysis: Analysis) -> None:
        """Keep ``analysis`` under ``key`` (a cache that cannot be written adds a note)."""
        self._write(self._analysis_path(key), analysis.to_json())

    # -- resume records ------------------------------------------------------------------------

    def _record_path(self, outputs: Iterable[Path]) -> Path:
        paths = sorted(str(Path(p).resolve()) for p in outputs)
        return self.root / "outputs" / f"{cache_key(paths)}.json"

    def up_to_date(self, outputs: list[Path], render_key: str) -> bool:
        """Whether ``outputs`` were all written, completely, for ``render_key``."""
        record = self._record_path(outputs)
        text = self._read(record)
        try:
            if text is None or json.loads(text).get("render_key") != render_key:
                return False
            stamps = json.loads(text).get("stamps")
            if stamps is not None:  # written and stamped: each output must be as it was left
                return all(stamps.get(str(Path(p).resolve())) == _stamp(Path(p)) for p in outputs)
            since = record.stat().st_mtime_ns  # a record that was never stamped: newer outputs
            return all(p.is_file() and p.stat().st_mtime_ns >= since for p in map(Path, outputs))
        except (OSError, ValueError, AttributeError):
            return False

    def begin_outputs(self, outputs: list[Path], render_key: str) -> None:
        """Record what is about to be written: call it before writing the outputs."""
        record = {"render_key": render_key, "outputs": [str(Path(p).resolve()) for p in outputs]}
        self._write(self._record_path(outputs), json.dumps(record))

    def finish_outputs(self, outputs: list[Path], render_key: str) -> None:
        """Record the stamp of each output just written (call it after writing them): an output
        changed afterwards by anything else is no longer up to date."""
        record = {"render_key": render_key, "outputs": [str(Path(p).resolve()) for p in outputs],
                  "stamps": {str(Path(p).resolve()): _stamp(Path(p)) for p in outputs}}
        self._write(self._record_path(outputs), json.dumps(record))


def _stamp(path: Path) -> list[int] | None:
    """Size, mtime and inode of a file: outputs are replaced by rename, so any rewrite changes it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]
