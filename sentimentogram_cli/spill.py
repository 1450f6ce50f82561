"""Arrays kept in unnamed temporary files while one input is analysed, read back a piece at a time.

Why: a recording's decoded audio (3.8 MB a minute) and its emotion frames (6 MB a minute as
float16) are needed by later stages, so held in memory they make the peak grow with the input's
length (issue 25: 27 MB a minute of media). Written as they are made and read back by offset,
they cost the page cache and the disk, not the process: its memory stays that of one piece.
The files have no name (``tempfile.TemporaryFile``) and go with the object or the process.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["SpilledRows", "SpilledChunks"]


class SpilledRows:
    """A 2-D array of ``width`` columns grown by ``append`` and read back by row slices
    (``rows[a:b]``, a fresh writable array, clipped to the rows there are, as numpy does).
    Safe to use from several threads (the emotion frames are made while the words are found)."""

    def __init__(self, width: int, dtype=np.float32, folder: str | os.PathLike | None = None):
        self._file = tempfile.TemporaryFile(prefix="sentimentogram-", dir=folder)
        self._lock = threading.Lock()  # a seek and its read or write go together
        self.width, self.dtype, self.rows = int(width), np.dtype(dtype), 0
        self._row_bytes = self.width * self.dtype.itemsize

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.width

    def __len__(self) -> int:
        return self.rows

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, self.dtype).reshape(-1, self.width)
        with self._lock:
            self._file.seek(self.rows * self._row_bytes)
            self._file.write(memoryview(rows).cast("B"))
            self.rows += len(rows)

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice):
            raise TypeError("spilled rows are read by slices of rows")
        start, stop, step = index.indices(self.rows)
        if step != 1:
            raise ValueError("spilled rows are read by contiguous slices")
        out = np.empty((max(0, stop - start), self.width), self.dtype)
        if out.size:
            with self._lock:
                self._file.seek(start * self._row_bytes)
                read = self._file.readinto(memoryview(out).cast("B"))
            if read != out.nbytes:
                raise OSError("a temporary file was cut short")
        return out

    def close(self) -> None:
        self._file.close()


class SpilledChunks(Sequence):
    """A recording's consecutive chunks (every one ``chunk_samples`` long but the last), as the
    stages use them (``len``, ``chunks[i]``, ``chunks[a:b]``), kept in a temporary file."""

    def __init__(self, chunks: Iterable[np.ndarray] = (), chunk_samples: int | None = None,
                 folder: str | os.PathLike | None = None):
        self._samples = SpilledRows(1, np.float32, folder)
        self.chunk_samples, self._count = chunk_samples, 0
        for chunk in chunks:
            self.append(chunk)

    @property
    def n_samples(self) -> int:
        return self._samples.rows

    def append(self, chunk: np.ndarray) -> None:
        if self.chunk_samples is None:
            self.chunk_samples = len(chunk)
        if self._count and self.n_samples != self._count * self.chunk_samples:
            raise ValueError("only the last chunk may be shorter than the others")
        if not 0 < len(chunk) <= self.chunk_samples:
            raise ValueError(f"a chunk holds 1 to {self.chunk_samples} samples, not {len(chunk)}")
        self._samples.append(chunk)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("chunk index out of range")
        start = index * self.chunk_samples
        return self._samples[start: start + self.chunk_samples].reshape(-1)

    def close(self) -> None:
        self._samples.close()
