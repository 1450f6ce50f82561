"""faster-whisper's mel projection made a block of frames at a time, bit for bit as its one matrix
product over the whole speech (issue 25).

Why: faster-whisper's ``FeatureExtractor`` projects the power spectrum of all the speech at once,
``mel_filters @ magnitudes``: one OpenBLAS sgemm (numpy's). That product does not sum every value in
one order. OpenBLAS's Haswell kernel, which numpy's OpenBLAS runs on AVX2 CPUs and on AMD's (this
machine's EPYC), sums the products of a value either in one chain of fused multiply-adds over
k = 0, 1, ..., 200, or in two chains, even k and odd k, added at the end; which one turns on where the value falls in the
pieces the call is cut into (threads, blocks of 320 frames, kernel tiles), that is on the number of
frames of the whole speech. A product per 30 s block cuts elsewhere: 0.1 % of the log-mel of the
306 s talk differed in the last bit, and Whisper base looped on it once where faster-whisper alone
does not (``benchmarks/first_pass.py``).

So the projection is made here without BLAS, each value as that one product makes it:

- ``split_sums`` lays out the whole product as OpenBLAS 0.3's GEMM drivers cut it (``interface/
  gemm.c``, ``driver/level3/level3*.c``) and its Haswell kernel (``sgemm_kernel_8x4_haswell_2.c``)
  tiles it, for the threads numpy's OpenBLAS runs, and returns the rectangles summed in two chains;
- ``project`` makes the chains in float64, rounding each multiply-add to float32 once as the FMA
  does (round to odd, then to nearest: exact); a filter has at most 14 non-zero weights;
- ``exact_here`` checks all of it once per process against numpy's own product of a probe. Where it
  fails (another BLAS, or OpenBLAS's kernel for AVX-512 CPUs) the caller projects with numpy per
  block, and the last bit may differ as before.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["exact_here", "openblas_threads", "project", "split_sums"]

# OpenBLAS 0.3 on its Haswell kernel (sgemm): rows of C per block (GEMM_P), register tile (UNROLL_M x N),
# SWITCH_RATIO and GEMM_PREFERED_SIZE of its threaded driver, and the size below which it runs one thread.
_P, _UNROLL_M, _UNROLL_N, _SWITCH, _PREFERRED, _DIVIDE = 320, 8, 4, 8, 8, 2
_ONE_THREAD_BELOW = 65536 * 4


def split_sums(frames: int, threads: int, n_mels: int = 80, k: int = 201) -> np.ndarray:
    """The values of ``mel_filters @ magnitudes`` (``n_mels`` x ``frames``, over ``k`` bins, all
    summed in one block of k, as faster-whisper's 201 are) that OpenBLAS sums in two chains:
    rectangles (mel from, mel to, frame from, frame to), one a row."""
    rects: list[tuple[int, int, int, int]] = []
    mnk = frames * n_mels * k  # interface/gemm.c: threads for large products only
    threads = 1 if mnk <= _ONE_THREAD_BELOW else min(threads, max(1, int(mnk / _ONE_THREAD_BELOW)))
    m_threads, n_threads = _thread_grid(frames, n_mels, threads)
    if m_threads * n_threads <= 1:
        _single(rects, 0, frames, n_mels)
    else:
        _threaded(rects, frames, n_mels, m_threads, n_threads)
    return np.asarray(rects, np.int64).reshape(-1, 4)


def _kernel(rects: list, m0: int, rows: int, n0: int, cols: int) -> None:
    """One kernel call on C[m0:m0+rows, n0:n0+cols] (frames x mels): its tiles of 12 mels sum the
    first 8 frames of their left half, and the last whole 8 of one half, in two chains; its tiles
    of 4 mels all whole groups of 8 frames; every other tile sums in one chain."""
    groups = rows // 8
    for width in _tiles(cols):
        if width == 12 and rows >= 16:
            rects.append((n0, n0 + 6, m0, m0 + 8))
            half = n0 if groups % 2 == 0 else n0 + 6
            rects.append((half, half + 6, m0 + 8 * (groups - 1), m0 + 8 * groups))
        elif width == 4 and groups:
            rects.append((n0, n0 + 4, m0, m0 + 8 * groups))
        n0 += width


def _tiles(cols: int):
    while cols > 11:
        yield 12
        cols -= 12
    for width in (8, 4, 2, 1):
        if cols >= width:
            yield width
            cols -= width


def _packs(a: int, b: int):
    """The parts a driver packs columns [a, b) of B in, a kernel call each (3 tiles, or 1)."""
    while a < b:
        width = b - a
        width = 3 * _UNROLL_N if width >= 3 * _UNROLL_N else _UNROLL_N if width > _UNROLL_N else width
        yield a, width
        a += width


def _first_block(rows: int) -> int:
    if rows >= 2 * _P:
        return _P
    return ((rows // 2 + _UNROLL_M - 1) // _UNROLL_M) * _UNROLL_M if rows > _P else rows


def _single(rects: list, m_from: int, m_to: int, n: int) -> None:
    """level3.c: the first block of rows with B packed part by part, then blocks with all of it."""
    rows = _first_block(m_to - m_from)
    for n0, width in _packs(0, n):
        _kernel(rects, m_from, rows, n0, width)
    at = m_from + rows
    while at < m_to:
        rows = _first_block(m_to - at)
        _kernel(rects, at, rows, 0, n)
        at += rows


def _round_up(remainder: int, width: int, multiple: int) -> int:
    return width if multiple > remainder or width <= multiple else -(-width // multiple) * multiple


def _thread_grid(m: int, n: int, threads: int) -> tuple[int, int]:
    """level3_thread.c: threads over the rows and over the columns of C."""
    if threads <= 1 or m < 2 * _SWITCH:
        m_threads = 1
    else:
        m_threads = threads
        while m < m_threads * _SWITCH:
            m_threads //= 2
    if n < _SWITCH * m_threads:
        return m_threads, 1
    n_threads = -(-n // (_SWITCH * m_threads))
    if m_threads * n_threads > threads:
        n_threads = threads // m_threads
    cost = div = 0
    i = 1
    while i * i <= m_threads:  # the split that makes each thread's part squarest
        if m_threads % i == 0:
            j = m_threads // i
            cost_i, cost_j = n * j + m * n_threads * i, n * i + m * n_threads * j
            if cost == 0 or cost_i < cost:
                cost, div = cost_i, i
            if cost_j < cost:
                cost, div = cost_j, j
        i += 1
    return (m_threads // div, n_threads * div) if div > 1 else (m_threads, n_threads)


def _threaded(rects: list, m: int, n: int, m_threads: int, n_threads: int) -> None:
    """level3_thread.c: each thread takes a range of rows and packs its own range of columns; its
    first block of rows meets its own columns part by part and the others' half a range at a time,
    its later blocks every range half by half."""
    row_edges, left = [0], m
    for part in range(m_threads):
        width = _round_up(left, -(-left // (m_threads - part)), _PREFERRED)
        left -= width
        row_edges.append(row_edges[-1] + width + min(left, 0))
        if left <= 0:
            break
    row_edges += [row_edges[-1]] * (m_threads + 1 - len(row_edges))
    col_edges, left_n = [0], n
    for j in range(n_threads):
        width_n = -(-left_n // (n_threads - j))
        left_n -= width_n
        for i in range(m_threads):
            width = max(-(-width_n // (m_threads - i)), _SWITCH)
            width = _round_up(width_n, width, _PREFERRED)
            width_n -= width
            if width_n < 0:
                width, width_n = width + width_n, 0
            col_edges.append(col_edges[-1] + width)

    def halves(thread: int):
        a, b = col_edges[thread], col_edges[thread + 1]
        step = -(-(b - a) // _DIVIDE)
        return [(x, min(b - x, step)) for x in range(a, b, step)] if step else []

    for me in range(m_threads * n_threads):
        group = range(me // m_threads * m_threads, (me // m_threads + 1) * m_threads)
        m_from, m_to = row_edges[me % m_threads], row_edges[me % m_threads + 1]
        if m_to <= m_from:
            continue
        rows = _first_block(m_to - m_from)
        for a, width in halves(me):
            for n0, part in _packs(a, a + width):
                _kernel(rects, m_from, rows, n0, part)
        for other in group:
            if other != me:
                for a, width in halves(other):
                    _kernel(rects, m_from, rows, a, width)
        at = m_from + rows
        while at < m_to:
            left = m_to - at
            rows = _P if left >= 2 * _P else (((left + 1) // 2 + _UNROLL_M - 1) // _UNROLL_M) * _UNROLL_M \
                if left > _P else left
            for other in group:
                for a, width in halves(other):
                    _kernel(rects, at, rows, a, width)
            at += rows


def project(filters: np.ndarray, magnitudes: np.ndarray, first: int, rects: np.ndarray) -> np.ndarray:
    """``filters @ magnitudes`` for frames [first, first + len) of the whole product ``rects`` lays
    out (``split_sums``), each value summed as OpenBLAS sums it there."""
    frames = magnitudes.shape[1]
    mags = np.ascontiguousarray(magnitudes, np.float64)  # rows of bins, gathered per step
    out = _chains(filters, mags, "all")
    mask = np.zeros(out.shape, bool)
    near = rects[(rects[:, 3] > first) & (rects[:, 2] < first + frames)]
    for r0, r1, f0, f1 in near - np.array([0, 0, first, first]):
        mask[r0:r1, max(f0, 0): f1] = True
    cols = np.flatnonzero(mask.any(axis=0))
    if len(cols):
        split = _chains(filters, mags[:, cols], "even") + _chains(filters, mags[:, cols], "odd")
        out[:, cols] = np.where(mask[:, cols], split, out[:, cols])
    return out


def _chains(filters: np.ndarray, mags: np.ndarray, which: str) -> np.ndarray:
    """Each mel's chain of float32 fused multiply-adds over its non-zero weights (``which`` bins:
    all, even, odd), in ascending bin order, from zero (a zero weight leaves a sum as it is)."""
    acc = np.zeros((len(filters), mags.shape[1]))
    for step, (rows, bins, weights) in enumerate(_steps(filters.tobytes(), filters.shape, which)):
        product = weights[:, None] * mags[bins]  # exact: two 24-bit significands
        acc[rows] = _round_fma(product, acc[rows]) if step else product.astype(np.float32)
    return acc.astype(np.float32)


def _round_fma(product: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """float32(product + acc) rounded once: the float64 sum rounded to odd (TwoSum gives its error),
    then to nearest float32, which is exact for 53 >= 24 + 2 bits (Boldo and Melquiond)."""
    total = product + acc
    back = total - acc
    error = (product - back) + (acc - (total - back))
    bits = total.view(np.int64)
    bits += ((error != 0) & ((bits & 1) == 0)) * np.sign(error).astype(np.int64)  # the sums are >= 0
    return total.astype(np.float32).astype(np.float64)


@lru_cache(maxsize=8)
def _steps(raw: bytes, shape: tuple[int, int], which: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per step of the chains: the mels that have one, the bin each multiplies, its weight."""
    filters = np.frombuffer(raw, np.float32).reshape(shape)
    keep = {"all": lambda b: True, "even": lambda b: b % 2 == 0, "odd": lambda b: b % 2 == 1}[which]
    chains = [[b for b in np.flatnonzero(row) if keep(b)] for row in filters]
    steps = []
    for step in range(max(len(c) for c in chains)):
        rows = np.array([r for r, c in enumerate(chains) if len(c) > step], np.int64)
        bins = np.array([chains[r][step] for r in rows], np.int64)
        steps.append((rows, bins, filters[rows, bins].astype(np.float64)))
    return steps


def openblas_threads() -> int | None:
    """The threads numpy's OpenBLAS runs a product on, or None where numpy has another BLAS."""
    from threadpoolctl import ThreadpoolController

    for lib in ThreadpoolController().select(internal_api="openblas").lib_controllers:
        if "numpy" in lib.filepath:
            return int(lib.num_threads)
    return None


@lru_cache(maxsize=8)
def _exact(raw: bytes, shape: tuple[int, int], threads: int) -> bool:
    filters = np.frombuffer(raw, np.float32).reshape(shape)
    rng = np.random.default_rng(0)
    for frames in (threads * (2 * _P + 57), 1003):  # row ranges of two blocks and a tail; one block and a half
        scale = 10.0 ** rng.uniform(-6, 2, size=(1, frames))
        probe = np.asfortranarray((rng.exponential(size=(shape[1], frames)) * scale).astype(np.float32))
        if not np.array_equal(project(filters, probe, 0, split_sums(frames, threads, *shape)), filters @ probe):
            return False
    return True


def exact_here(filters: np.ndarray, threads: int | None) -> bool:
    """Whether ``project`` makes numpy's own ``filters @ magnitudes`` (magnitudes in column order, as
    faster-whisper's are) in this process, on ``threads``: checked on a probe once."""
    return threads is not None and filters.dtype == np.float32 and \
        _exact(np.ascontiguousarray(filters).tobytes(), filters.shape, threads)
