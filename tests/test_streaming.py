"""Bounded memory on long inputs (issue 25): the decoded audio kept in a temporary file, freed heap pages released."""

from __future__ import annotations

import os

import numpy as np
import pytest

from sentimentogram_cli.heap import _glibc, release_freed_memory
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


class _Encoder:
    """A stand-in audio encoder: 25 frames a second of 6 numbers drawn from the samples."""

    batch_size = 1

    def encode(self, audio: np.ndarray) -> np.ndarray:
        n = -(-len(audio) // 640)
        padded = np.pad(audio, (0, n * 640 - len(audio))).reshape(n, 640)
        return np.stack([padded[:, i::6].mean(axis=1) * (i + 1) for i in range(6)], axis=1).astype(np.float32)


def test_spilled_rows_read_and_written_from_two_threads_at_once():
    """The emotion frames are made on a thread while the transcription reads the audio back."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    audio = SpilledChunks([rng.standard_normal(1000).astype(np.float32) for _ in range(40)])
    frames = SpilledRows(8)
    held = rng.standard_normal((4000, 8)).astype(np.float32)

    def write() -> None:
        for b in range(0, len(held), 50):
            frames.append(held[b: b + 50])

    def read(i: int) -> np.ndarray:
        return audio[i % 40]

    with ThreadPoolExecutor(3) as pool:
        written = pool.submit(write)
        got = list(pool.map(read, range(400)))
        written.result()
    assert all(np.array_equal(g, audio[i % 40]) for i, g in enumerate(got))
    np.testing.assert_array_equal(frames[0: len(held)], held)


def test_work_ahead_gives_its_result_or_none_when_it_failed():
    from sentimentogram_cli.ahead import Ahead

    assert Ahead(lambda: 42, "test").result() == 42
    failed = Ahead(lambda: 1 / 0, "test")
    assert failed.result() is None and failed.done()


def test_spilled_frames_are_the_frames_held_in_memory():
    from sentimentogram_cli.constants import CHUNK_SAMPLES
    from sentimentogram_cli.emotion.recognise import _frame_sum, encode_recording

    rng = np.random.default_rng(1)
    audio = rng.standard_normal(CHUNK_SAMPLES * 2 + 16000 * 7).astype(np.float32)
    chunks = SpilledChunks([audio[i: i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)])
    held = encode_recording(chunks, len(audio), _Encoder())
    spilled = encode_recording(chunks, len(audio), _Encoder(), spill=True)
    assert isinstance(spilled, SpilledRows) and spilled.shape == held.shape
    np.testing.assert_array_equal(spilled[0: len(held)], held)
    np.testing.assert_array_equal(spilled[100: 180], held[100: 180])
    mask = rng.random(len(held)) < 0.3
    np.testing.assert_allclose(_frame_sum(spilled, mask, step=64), held[mask].sum(axis=0, dtype=np.float64),
                               rtol=1e-12)
    np.testing.assert_allclose(_frame_sum(spilled), held.sum(axis=0, dtype=np.float64), rtol=1e-12)


@pytest.mark.slow
def test_emotion_encoders_load_on_a_thread():
    from sentimentogram_cli.analyser import Analyser

    analyser = Analyser("cpu")
    preload = analyser._preload_emotion_encoders()
    preload.result(timeout=600)
    assert preload.done()
    assert analyser._audio_encoder is not None and analyser._text_encoder is not None
    assert analyser.audio_encoder is analyser._audio_encoder  # the stage uses what the thread loaded


@pytest.mark.slow
def test_language_detected_once_per_file_and_never_when_given(monkeypatch):
    """Issue 25: one detection for a whole file (not one per piece), none with --language."""
    from pathlib import Path

    from sentimentogram_cli.assets import load_whisper
    from sentimentogram_cli.media import decode_audio
    from sentimentogram_cli.transcription import transcribe as tr

    audio = decode_audio(Path(__file__).resolve().parents[1] / "examples" / "jfk.flac")
    model = load_whisper("base", "cpu")
    calls = []
    ours, theirs = tr.detect_language, model.detect_language
    monkeypatch.setattr(tr, "detect_language", lambda *a, **k: calls.append("ours") or ours(*a, **k))
    monkeypatch.setattr(model, "detect_language", lambda *a, **k: calls.append("whisper") or theirs(*a, **k))
    monkeypatch.setattr(tr, "PIECE_SECONDS", 6.0)  # the 11 s file in two pieces
    monkeypatch.setattr(tr, "_CUT_SEARCH_SECONDS", 2.0)
    chunks = [audio]
    detected = tr.transcribe_chunks(chunks, len(audio), model_name="base")
    assert detected.language == "en" and calls == ["ours", "whisper"]  # ours asks Whisper once, on the speech
    calls.clear()
    given = tr.transcribe_chunks(chunks, len(audio), model_name="base", language="en")
    assert calls == [] and given.language == "en" and given.words



def test_envelope_in_blocks_is_the_envelope_at_once(monkeypatch):
    from sentimentogram_cli.transcription import speech

    rng = np.random.default_rng(2)
    n = 16000 * 75 + 123
    audio = (rng.standard_normal(n) * np.repeat(rng.random(751) ** 4, 1600)[:n]).astype(np.float32)
    blocks = speech.envelope(audio).loud
    for frames in (7, 10**9):  # odd blocks, and the whole recording at once (as before)
        monkeypatch.setattr(speech, "_BLOCK_FRAMES", frames)
        np.testing.assert_array_equal(speech.envelope(audio).loud, blocks)
    assert 0 < blocks.sum() < len(blocks)


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(_glibc("malloc_trim") is None or not os.path.exists("/proc/self/statm"),
                    reason="glibc's malloc_trim and /proc are Linux things")
def test_freed_heap_pages_go_back_to_the_system():
    """Arrays under glibc's mmap threshold, freed between small ones that stay (the heap the
    emotion stage left behind per batch): resident until released, then given back."""
    big, keep = [], []
    for _ in range(2000):  # ~190 MB in 96 KB arrays, each followed by one that is kept
        big.append(np.ones(12_000))
        keep.append(np.ones(200))
    del big
    held = _rss_mib()
    release_freed_memory()
    assert held - _rss_mib() > 100
    assert len(keep) == 2000
