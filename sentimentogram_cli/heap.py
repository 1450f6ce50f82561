"""The C heap of the process that analyses: glibc's settings for it, and its freed pages handed back.

Why (issue 25): CTranslate2's Whisper encoder makes and frees a ~72 MB attention buffer per layer
and per 30 s window. Under glibc's defaults each one is a fresh ``mmap`` (above the 32 MB ceiling
of the mmap threshold, and always so from a worker thread's own arena), so every window faulted
its pages in again: 1.35 million page faults and 8.6 of the decoding's 30.7 CPU s as system time
on a 5-minute talk (``benchmarks/profile_render.py``). ``tune_heap`` keeps such buffers on one
heap that is reused (``benchmarks/cpu_sharing.py`` gives the gain). What a stage frees still goes
back to the system at the stage's end (``release_freed_memory``), so memory stays flat in the
input's length. Both are no-ops where the C library is not glibc (macOS, musl, Windows).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

__all__ = ["HEAP_BUFFER_BYTES", "release_freed_memory", "tune_heap"]

# Buffers up to this size come from the heap and are reused, not mapped afresh each time: above the
# largest a Whisper encoder makes (large: 20 heads x 1500 x 1500 float32 = 180 MB).
HEAP_BUFFER_BYTES = 256 * 1024 * 1024
# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8


@lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def _glibc(function: str):
    """A glibc function by name, or None where the C library lacks it."""
    libc = _libc()
    return getattr(libc, function, None) if libc is not None else None


@lru_cache(maxsize=1)
def tune_heap() -> bool:
    """Once per process, before threads allocate: one heap for every thread (a worker thread's own
    arena maps any buffer over 64 MB afresh), buffers up to HEAP_BUFFER_BYTES taken from it, and as
    much free space kept at its top for the next window. True where glibc took the settings."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_THRESHOLD, HEAP_BUFFER_BYTES), (_M_TRIM_THRESHOLD, HEAP_BUFFER_BYTES))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc ``malloc_trim(0)``; a no-op elsewhere).
    Called at the end of each stage of an analysis, and per piece where a stage's pieces are large
    (the openai-whisper backend's 120 s pieces, the emotion head's batches): a few ms each. Not per
    decoded window: the next window would fault the same pages in again."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)
