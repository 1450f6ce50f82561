"""How an analysis shares the CPU (issue 25): the recogniser's threads and the threads beside it
(``devices``), and glibc's heap kept for reuse (``heap.tune_heap``)."""

from __future__ import annotations

import ctypes
import resource
import sys

import pytest

from sentimentogram_cli.devices import recogniser_threads, threads_beside, torch_threads
from sentimentogram_cli.heap import _M_MMAP_THRESHOLD, HEAP_BUFFER_BYTES, _glibc, release_freed_memory, tune_heap


@pytest.mark.parametrize("cores, recogniser, beside", [(1, 1, 1), (2, 1, 1), (3, 1, 2), (4, 2, 2), (8, 4, 4),
                                                       (32, 4, 28)])
def test_the_cores_are_split_between_the_recogniser_and_the_work_beside_it(cores, recogniser, beside):
    assert recogniser_threads(cores) == recogniser
    assert threads_beside(cores) == beside


def test_torch_threads_are_put_back_even_after_an_error():
    import torch

    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def _faults_to_fill(n_bytes: int) -> int:
    """Page faults taken to malloc, write and free a buffer (through libc, as CTranslate2 does:
    numpy asks for huge pages on large arrays, which hides the faults)."""
    malloc, free = _glibc("malloc"), _glibc("free")
    malloc.restype, malloc.argtypes, free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = malloc(n_bytes)
    ctypes.memset(block, 1, n_bytes)  # every page written
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    free(block)
    return faults


@pytest.mark.skipif(not sys.platform.startswith("linux") or _glibc("mallopt") is None, reason="glibc's mallopt")
def test_a_tuned_heap_reuses_a_large_buffer_instead_of_faulting_it_in_again():
    """A 96 MB buffer made and freed twice, as the encoder's attention buffer is per window: tuned,
    the second one reuses the heap's pages; with glibc's highest default threshold (32 MB) it is
    mapped afresh each time and every page is faulted in again."""
    size = 96 * 2**20
    assert size < HEAP_BUFFER_BYTES
    pages = size // resource.getpagesize()
    assert tune_heap()
    _faults_to_fill(size)
    assert _faults_to_fill(size) < pages // 10
    mallopt = _glibc("mallopt")
    try:  # glibc's own ceiling for the threshold (32 MB): the buffer is mapped afresh every time
        assert mallopt(_M_MMAP_THRESHOLD, 32 * 2**20) == 1
        release_freed_memory()  # the heap's free top goes, or it would serve the buffer
        _faults_to_fill(size)
        assert _faults_to_fill(size) > pages * 9 // 10
    finally:
        mallopt(_M_MMAP_THRESHOLD, HEAP_BUFFER_BYTES)


def test_the_cores_counted_are_at_most_omp_num_threads(monkeypatch):
    """A Ray actor's share (distributed sets OMP_NUM_THREADS) or a user's limit caps the cores
    that are split; a value that is not a positive number is ignored."""
    from sentimentogram_cli.devices import cpu_cores

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    machine = cpu_cores()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_cores() == 1 and recogniser_threads() == 1 and threads_beside() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "4096")
    assert cpu_cores() == machine
    for ignored in ("", "0", "two"):
        monkeypatch.setenv("OMP_NUM_THREADS", ignored)
        assert cpu_cores() == machine
