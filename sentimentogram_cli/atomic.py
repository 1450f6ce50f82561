"""Writing files so that a killed run never leaves a partial one: a temporary file beside the
target, renamed over it only once it is complete. Every output of the package (pages, subtitles,
analysis documents, burned videos, cache entries, profiles) is written through ``atomic_path``.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "remove_stale_temporaries"]


def _cannot_write(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


@contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yields a new empty temporary file beside ``path`` (named ``.<name>.<random>.part<suffix>``:
    give ``suffix`` when a tool picks the format from the name); when the block ends without an
    exception it becomes ``path``, with the mode any new file gets, else it is removed."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{suffix}", dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    os.close(fd)
    part = Path(name)
    try:
        yield part
        umask = os.umask(0)  # mkstemp creates 0600 files; outputs get the usual umask-based mode
        os.umask(umask)
        os.chmod(part, 0o666 & ~umask)
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise _cannot_write(path, exc) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as part, part.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temporaries(path: Path) -> None:
    """Remove the temporary files a killed run (kill -9) left for ``path``."""
    for stale in Path(path).parent.glob(f".{glob.escape(Path(path).name)}.*.part*"):
        try:
            stale.unlink(missing_ok=True)
        except OSError:  # not ours to remove after all: the write itself will say if it fails
            pass
