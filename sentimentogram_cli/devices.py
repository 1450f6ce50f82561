"""Which device the models run on (``auto`` resolves to ``cuda`` when a GPU is visible), and how
an analysis shares a CPU's cores between the recogniser and the work beside it.

Why the split (issue 25): the emotion frames are made on a thread while CTranslate2 decodes. With
CTranslate2's default of 4 threads per decode and torch's of one per core, the threads outnumber
two cores and spend their time waiting on each other: on 2 cores a 5-minute render took 38 s where
half the cores each (one and one) took 31 (``benchmarks/cpu_sharing.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ModelError, UsageError

__all__ = ["DEVICES", "check_device", "cpu_cores", "cuda_device_count", "recogniser_threads", "resolve_device",
           "threads_beside", "torch_threads"]

DEVICES = ("auto", "cpu", "cuda")


def cuda_device_count() -> int:
    """GPUs that CTranslate2 (the ASR and audio-encoder runtime) can use."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken CUDA driver install must not stop CPU runs
        return 0


def check_device(device: str | None) -> str:
    """``device`` as one of DEVICES (None: auto; case and spaces ignored); UsageError otherwise."""
    choice = (device or "auto").strip().lower()
    if choice not in DEVICES:
        raise UsageError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    return choice


def resolve_device(device: str = "auto") -> str:
    """``"cpu"`` or ``"cuda"``; ``auto`` picks cuda when CTranslate2 sees a GPU."""
    choice = check_device(device)
    if choice == "auto":
        return "cuda" if cuda_device_count() > 0 else "cpu"
    if choice == "cuda" and cuda_device_count() == 0:
        raise ModelError("device 'cuda' was asked for but no CUDA GPU is visible: use --device cpu")
    return choice


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask where the system has one), at most
    ``OMP_NUM_THREADS`` when that is set: a user's limit, or a Ray actor's share (``distributed``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(cores, int(limit))) if limit.isdigit() and int(limit) > 0 else cores


def recogniser_threads(cores: int | None = None) -> int:
    """CTranslate2 threads per decode on a CPU: half the cores, at least 1 and at most 4
    (CTranslate2's own default); the other half is for the work beside it (``threads_beside``)."""
    return min(4, max(1, (cores or cpu_cores()) // 2))


def threads_beside(cores: int | None = None) -> int:
    """torch threads for the work made beside the decoding (the emotion frames): the cores the
    recogniser leaves, at least 1."""
    cores = cores or cpu_cores()
    return max(1, cores - recogniser_threads(cores))


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` inside the block (None: left as they are) and
    put back after it."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
