"""The recognition stage: recording + timed words -> per-word emotion, VAD and fusion gates.

Memory stays bounded however long the recording: it is held as 30 s chunks, the audio encoder
runs a block of chunks at a time and its frames are kept as float16 (as in training: 92 MB an
hour), windows go through the text encoder and the head a batch at a time, and words are
aggregated a batch at a time. The cost grows with the recording, not with windows × models.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..analysis import AnalysedWord, Line, Segment
from ..constants import CHUNK_SAMPLES, HOP_SECONDS, SAMPLE_RATE, WINDOW_SECONDS
from .features import SAMPLES_PER_HEAD_FRAME, frames_for_span
from .windows import aggregate_words, layout_windows, overlap_matrix, window_text, word_spans

__all__ = ["recognise", "recognise_chunks"]

_WINDOW_BATCH = 256  # windows encoded and predicted together
_WORD_BATCH = 1024  # words aggregated together (the overlap matrix is words x windows)
# Shares of the stage's progress: the audio encoder is most of the work.
_ENCODE_SHARE, _PREDICT_SHARE = 0.75, 0.2


def _encode_chunks(chunks: list[np.ndarray], n_samples: int, head, audio_encoder,
                   report: Callable[[float], None]) -> tuple[np.ndarray, np.ndarray]:
    """float16 frames of the whole recording, and the centre ``head.normalise_recording`` uses.

    Blocks of ``batch_size`` chunks are exactly the batches ``AudioEncoder.encode`` would make of
    the whole recording, so the frames are the same; only one block is float32 at a time.
    """
    step, store, total, filled = audio_encoder.batch_size, None, None, 0
    for b in range(0, len(chunks), step):
        frames = audio_encoder.encode(np.concatenate(chunks[b: b + step]))
        if store is None:
            store = np.empty((math.ceil(n_samples / SAMPLES_PER_HEAD_FRAME), frames.shape[1]), np.float16)
            total = np.zeros(frames.shape[1], np.float64)
        store[filled: filled + len(frames)] = frames
        total += frames.sum(axis=0, dtype=np.float64)
        filled += len(frames)
        report(min(1.0, (b + step) / len(chunks)))
    w = head.metadata.recording_mean_weight  # the same arithmetic as EmotionHead.normalise_recording
    centre = head.audio_mean if w == 0 else (1 - w) * head.audio_mean + w * (total / max(filled, 1))
    return store[:filled], centre.astype(np.float32)


def recognise_chunks(chunks: list[np.ndarray], n_samples: int, segments: Sequence[Segment], head,
                     audio_encoder, text_encoder, *, window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
                     progress: Callable[[float], None] | None = None) -> list[Line]:
    """One ``Line`` per segment with words, every word carrying its ``WordEmotion``.

    ``chunks`` is the recording (16 kHz mono float32) as consecutive ``CHUNK_SAMPLES`` pieces,
    ``n_samples`` its length, ``segments`` the recogniser's output for it, ``head`` an
    ``EmotionHead`` and the encoders those it was trained on. ``progress`` receives the fraction
    done (0..1), ending with 1.0. No words → an empty list, no model runs.
    """
    report = progress or (lambda fraction: None)
    words = [w for s in segments for w in s.words]
    if not words:
        report(1.0)
        return []
    frames, centre = _encode_chunks(chunks, n_samples, head, audio_encoder, lambda f: report(_ENCODE_SHARE * f))
    spans = word_spans(words)
    # The layout depends only on the speech's first start and last end: lay it out from the two
    # words that hold them, then give each batch of windows its words (no words x windows matrix).
    ends = [int(np.argmin(spans[:, 0])), int(np.argmax(spans[:, 1]))]
    windows = layout_windows([words[i] for i in dict.fromkeys(ends)], n_samples / SAMPLE_RATE,
                             window=window, hop=hop)
    results = []
    for b in range(0, len(windows), _WINDOW_BATCH):
        batch = windows[b: b + _WINDOW_BATCH]
        near = np.flatnonzero((spans[:, 0] < max(w.end for w in batch)) & (spans[:, 1] > batch[0].start))
        weights = overlap_matrix([words[i] for i in near], batch)
        for j, win in enumerate(batch):
            win.word_indices = [int(near[i]) for i in np.flatnonzero(weights[:, j] > 0)]
        texts = [window_text(words, w) for w in batch]
        present = [i for i, t in enumerate(texts) if t is not None]
        tokens = [None] * len(batch)  # a window without words: the head masks its text branch
        for i, embedded in zip(present, text_encoder.embed([texts[i] for i in present]) if present else []):
            tokens[i] = embedded
        audio = [(frames_for_span(frames, w.start, w.end).astype(np.float32) - centre) / head.audio_std for w in batch]
        results.append(head.predict(tokens, audio))
        report(_ENCODE_SHARE + _PREDICT_SHARE * min(1.0, (b + len(batch)) / len(windows)))
    probs, vad, gates = (np.concatenate([getattr(r, k) for r in results]) for k in ("probabilities", "vad", "gates"))
    starts, stops = np.array([w.start for w in windows]), np.array([w.end for w in windows])
    emotions = []
    for a in range(0, len(words), _WORD_BATCH):
        lo, hi = spans[a: a + _WORD_BATCH, 0].min(), spans[a: a + _WORD_BATCH, 1].max()
        sel = np.flatnonzero((starts < hi) & (stops > lo))
        sel = sel if len(sel) else np.array([int(np.argmin(np.abs((starts + stops) / 2 - (lo + hi) / 2)))])
        emotions += aggregate_words(words[a: a + _WORD_BATCH], [windows[j] for j in sel], list(head.labels),
                                    probs[sel], vad[sel], gates[sel])
    report(1.0)
    it = iter(emotions)
    return [Line(s.start, s.end, [AnalysedWord(w.text, w.start, w.end, w.probability, next(it)) for w in s.words])
            for s in segments if s.words]


def recognise(audio: np.ndarray, segments: Sequence[Segment], head, audio_encoder, text_encoder, *,
              window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
              progress: Callable[[float], None] | None = None) -> list[Line]:
    """``recognise_chunks`` for a recording held whole in memory (16 kHz mono float32)."""
    chunks = [audio[i: i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)]
    return recognise_chunks(chunks, len(audio), segments, head, audio_encoder, text_encoder,
                            window=window, hop=hop, progress=progress)
