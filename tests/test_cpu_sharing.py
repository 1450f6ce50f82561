"""How an analysis shares the CPU (issue 25): the recogniser's threads and the threads beside it
(``devices``), and glibc's heap kept for reuse (``heap.tune_heap``)."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from sentimentogram_cli.devices import recogniser_threads, threads_beside, torch_threads
from sentimentogram_cli.heap import HEAP_BUFFER_BYTES, _glibc


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


# Run in a fresh process, whose heap no earlier test has shaped: prints the page faults taken to
# malloc, write and free a buffer the second time (through libc, as CTranslate2 does: numpy asks for
# huge pages on large arrays, which would hide the faults), after tune_heap() or not.
_SECOND_FILL = """
import ctypes, resource, sys
from sentimentogram_cli.heap import _glibc, tune_heap
if sys.argv[2] == "tuned":
    assert tune_heap()
malloc, free = _glibc("malloc"), _glibc("free")
malloc.restype, malloc.argtypes, free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
size = int(sys.argv[1])
for _ in range(2):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = malloc(size)
    ctypes.memset(block, 1, size)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    free(block)
print(faults)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or _glibc("mallopt") is None, reason="glibc's mallopt")
def test_a_tuned_heap_reuses_a_large_buffer_instead_of_faulting_it_in_again():
    """A 96 MB buffer made and freed twice, as the encoder's attention buffer is per window: with
    glibc's defaults it is mapped afresh each time and every page is faulted in again; tuned, the
    second one reuses the heap's pages."""
    size = 96 * 2**20
    assert size < HEAP_BUFFER_BYTES
    pages = size // resource.getpagesize()
    faults = {how: int(subprocess.run([sys.executable, "-c", _SECOND_FILL, str(size), how], check=True,
                                      capture_output=True, text=True).stdout.strip().splitlines()[-1])
              for how in ("default", "tuned")}
    assert faults["default"] > pages * 9 // 10
    assert faults["tuned"] < pages // 10


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
