"""Bounded memory on long inputs (issue 25): the decoded audio kept in a temporary file."""

from __future__ import annotations

import numpy as np
import pytest

from sentimentogram_cli.spill import SpilledChunks, SpilledRows


def test_spilled_chunks_read_back_what_was_written():
    rng = np.random.default_rng(0)
    chunks = [rng.standard_normal(100).astype(np.float32) for _ in range(3)] + [np.ones(37, np.float32)]
    spilled = SpilledChunks(chunks)
    assert len(spilled) == 4 and spilled.n_samples == 337 and spilled.chunk_samples == 100
    for got, want in zip(spilled, chunks):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(spilled[-1], chunks[-1])
    sliced = spilled[1:3]
    assert len(sliced) == 2
    np.testing.assert_array_equal(np.concatenate(sliced), np.concatenate(chunks[1:3]))
    got = spilled[0]
    got[:] = 0  # a chunk read back is the caller's own copy
    np.testing.assert_array_equal(spilled[0], chunks[0])
    with pytest.raises(IndexError):
        spilled[4]


def test_spilled_chunks_refuse_a_short_chunk_before_the_end():
    spilled = SpilledChunks([np.zeros(10, np.float32), np.zeros(4, np.float32)])
    with pytest.raises(ValueError):
        spilled.append(np.zeros(10, np.float32))
    with pytest.raises(ValueError):
        SpilledChunks([np.zeros(10, np.float32), np.zeros(11, np.float32)])


def test_spilled_rows_slice_like_numpy():
    rows = SpilledRows(3, np.float16)
    data = np.arange(30, dtype=np.float16).reshape(10, 3)
    rows.append(data[:4])
    rows.append(data[4:])
    assert rows.shape == (10, 3) and len(rows) == 10
    for a, b in ((0, 10), (2, 5), (8, 40), (12, 15), (5, 5)):
        np.testing.assert_array_equal(rows[a:b], data[a:b])
    with pytest.raises(TypeError):
        rows[3]
