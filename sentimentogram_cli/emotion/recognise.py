"""The recognition stage: recording + timed words -> per-word emotion, VAD and fusion gates.

Memory stays bounded however long the recording: it is held as 30 s chunks, the audio encoder
runs a block of chunks at a time and its frames are kept as float16 (as in training: 92 MB an
hour), windows go through the text encoder and the head a batch at a time, and words are
aggregated a batch at a time. The cost grows with the recording, not with windows × models.

Windows follow utterances (``windows.layout_utterance_windows``): none spans a pause of
``UTTERANCE_GAP_SECONDS`` or more, a short utterance's window reaches into its own pauses (not
into a neighbour's speech), and words take emotion only from their own utterance's windows. Each returned line
holds words of one utterance and records which (exports cut cues there). ``design="global"``
is the older layout over the whole speech, for benchmarks/word_accuracy.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..document import AnalysedWord, Line, Segment
from ..media import chunk_audio
from ..constants import HEAD_FRAMES_PER_SECOND, HOP_SECONDS, SAMPLE_RATE, WINDOW_SECONDS
from ..heap import release_freed_memory
from ..spill import SpilledRows
from .features import SAMPLES_PER_HEAD_FRAME, frames_for_span
from .windows import (UTTERANCE_GAP_SECONDS, aggregate_words, layout_utterance_windows, layout_windows,
                      overlap_matrix, utterance_ids, window_text, word_spans)

__all__ = ["DESIGNS", "TEXT_LANGUAGES", "encode_chunks", "recognise", "recognise_chunks", "recognise_frames", "recording_centre", "encode_recording",
           "recording_weight"]

DESIGNS = ("utterance", "global")
# Languages the text encoder reads (all-MiniLM-L6-v2 is English-only): other words would be noise.
TEXT_LANGUAGES = ("en",)

# Windows encoded and predicted together. Their float32 frames (75 x 2048 each) and the padded
# batch are the emotion stage's peak: 64 windows (about a minute of speech) hold ~40 MB where 256
# held ~240 MB once an input passed four minutes of speech (issue 25).
_WINDOW_BATCH = 64
_WORD_BATCH = 1024  # words aggregated together (the overlap matrix is words x windows)
# Shares of the stage's progress: the audio encoder is most of the work.
_ENCODE_SHARE, _PREDICT_SHARE = 0.75, 0.2


def recording_weight(head, seconds: float) -> float:
    """How much of a recording's (or a speaker's) own mean frame goes into its centre: the head's
    ``recording_mean_weight``, shrunk by the amount of audio it is the mean of when the head sets
    ``recording_mean_seconds`` (k): w · s / (s + k). One short clip's mean is mostly its emotion,
    a long talk's mean is its speaker's voice."""
    w = float(head.metadata.recording_mean_weight)
    k = float(getattr(head.metadata, "recording_mean_seconds", 0.0) or 0.0)
    return w if k <= 0 else w * seconds / (seconds + k)


def _centre(head, total: np.ndarray | None, count: int) -> np.ndarray:
    w = recording_weight(head, count / HEAD_FRAMES_PER_SECOND) if count else 0.0
    if w == 0 or total is None:
        return np.asarray(head.audio_mean, np.float32)
    return ((1 - w) * head.audio_mean + w * (total / count)).astype(np.float32)


def recording_centre(frames: np.ndarray, head) -> np.ndarray:
    """The centre ``recognise`` normalises a recording's (float16) frames by (no speakers given)."""
    return _centre(head, _frame_sum(frames), len(frames))


def _frame_sum(frames: np.ndarray, mask: np.ndarray | None = None, step: int = 4096) -> np.ndarray:
    """The sum of the (``mask``ed) frames, read a block at a time (frames may be spilled to disk)."""
    total = np.zeros(frames.shape[1], np.float64)
    for a in range(0, len(frames), step):
        block = frames[a: a + step]
        total += (block if mask is None else block[mask[a: a + step]]).sum(axis=0, dtype=np.float64)
    return total


def encode_recording(chunks: list[np.ndarray], n_samples: int, audio_encoder,
                     report: Callable[[float], None] | None = None, *, spill: bool = False) -> np.ndarray:
    """float16 frames of the whole recording, as the emotion stage computes them.

    Blocks of ``batch_size`` chunks are exactly the batches ``AudioEncoder.encode`` would make of
    the whole recording, so the frames are the same; only one block is float32 at a time.
    ``spill``: the frames go to a temporary file as they are made (``spill.SpilledRows``, read
    back by row slices), so a long recording's 6 MB a minute does not stay in memory.
    """
    step, store, filled = audio_encoder.batch_size, None, 0
    for b in range(0, len(chunks), step):
        frames = audio_encoder.encode(np.concatenate(chunks[b: b + step]))
        if store is None:
            store = (SpilledRows(frames.shape[1], np.float16) if spill else
                     np.empty((math.ceil(n_samples / SAMPLES_PER_HEAD_FRAME), frames.shape[1]), np.float16))
        if spill:
            store.append(frames.astype(np.float16))
        else:
            store[filled: filled + len(frames)] = frames
        filled += len(frames)
        del frames  # not released per block: this runs beside the decoding, on the same heap (heap.py)
        if report:
            report(min(1.0, (b + step) / len(chunks)))
    return store if spill else store[:filled]


def encode_chunks(chunks: list[np.ndarray], n_samples: int, head, audio_encoder,
                   report: Callable[[float], None]) -> tuple[np.ndarray, np.ndarray]:
    """float16 frames of the whole recording and the centre they are normalised by: the mean of
    the stored frames, so frames cached elsewhere (evaluate's product path) give the same."""
    frames = encode_recording(chunks, n_samples, audio_encoder, report, spill=True)
    return frames, recording_centre(frames, head)


def _speaker_centres(frames: np.ndarray, spans: np.ndarray, speakers: Sequence[str | None], head) -> dict:
    """Per speaker id, the centre from the frames of that speaker's words (whole recording)."""
    n = len(frames)
    out = {}
    for speaker in dict.fromkeys(s for s in speakers if s is not None):
        mask = np.zeros(n, bool)
        for (start, end), who in zip(spans, speakers):
            if who == speaker:
                a = max(0, int(round(start * HEAD_FRAMES_PER_SECOND)))
                mask[a: max(a + 1, int(round(end * HEAD_FRAMES_PER_SECOND)))] = True
        count = int(mask[:n].sum())
        out[speaker] = _centre(head, _frame_sum(frames, mask) if count else None, count)
    return out


def _window_speaker(win, spans: np.ndarray, speakers: Sequence[str | None]) -> str | None:
    """The speaker with the most seconds of words inside the window (None: no word has one)."""
    seconds: dict[str, float] = {}
    for i in win.word_indices:
        if speakers[i] is not None:
            overlap = min(spans[i, 1], win.end) - max(spans[i, 0], win.start)
            seconds[speakers[i]] = seconds.get(speakers[i], 0.0) + max(overlap, 1e-6)
    return max(seconds, key=seconds.get) if seconds else None


def recognise_chunks(chunks: list[np.ndarray], n_samples: int, segments: Sequence[Segment], head,
                     audio_encoder, text_encoder, *, window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
                     progress: Callable[[float], None] | None = None, design: str = "utterance",
                     utterance_gap: float = UTTERANCE_GAP_SECONDS, short: str = "context",
                     language: str | None = None, speakers: Sequence[str | None] | None = None,
                     encoded: tuple[np.ndarray, np.ndarray] | None = None) -> list[Line]:
    """One ``Line`` per segment with words, every word carrying its ``WordEmotion``.

    ``chunks`` is the recording (16 kHz mono float32) as consecutive ``CHUNK_SAMPLES`` pieces,
    ``n_samples`` its length, ``segments`` the recogniser's output for it, ``head`` an
    ``EmotionHead`` and the encoders those it was trained on. ``progress`` receives the fraction
    done (0..1), ending with 1.0. No words → an empty list, no model runs. ``language``: the
    transcript's; words in a language the text encoder does not read (TEXT_LANGUAGES) are not
    given to it, so the head's text branch is masked and its gate is 0 (the audio decides).
    ``speakers``: optional speaker id per word (in order over all segments; None = unknown):
    each window's audio is then centred on its speaker's statistics over the whole recording
    (the frames of that speaker's words) instead of the recording's. ``encoded``: the recording's
    frames and centre when already made (``encode_chunks``, on a thread while the words were found).
    """
    if design not in DESIGNS:
        raise ValueError(f"unknown window design {design!r}: use one of {', '.join(DESIGNS)}")
    report = progress or (lambda fraction: None)
    words = [w for s in segments for w in s.words]
    if speakers is not None and len(speakers) != len(words):
        raise ValueError(f"{len(words)} words but {len(speakers)} speaker ids")
    if not words:
        report(1.0)
        return []
    frames, centre = encoded or encode_chunks(chunks, n_samples, head, audio_encoder, lambda f: report(_ENCODE_SHARE * f))
    return recognise_frames(frames, centre, n_samples, segments, head, text_encoder, window=window, hop=hop,
                            progress=report, design=design, utterance_gap=utterance_gap, short=short,
                            language=language, speakers=speakers)


def recognise_frames(frames: np.ndarray, centre: np.ndarray, n_samples: int, segments: Sequence[Segment], head,
                     text_encoder, *, window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
                     progress: Callable[[float], None] | None = None, design: str = "utterance",
                     utterance_gap: float = UTTERANCE_GAP_SECONDS, short: str = "context",
                     language: str | None = None, speakers: Sequence[str | None] | None = None) -> list[Line]:
    """``recognise_chunks`` from the recording's encoded (float16) frames and their centre
    (``recording_centre``): what follows the audio encoder, shared by render and evaluate."""
    report = progress or (lambda fraction: None)
    read_text = language is None or language in TEXT_LANGUAGES
    words = [w for s in segments for w in s.words]
    if not words:
        report(1.0)
        return []
    spans = word_spans(words)
    utterances = utterance_ids(words, utterance_gap)
    centres = _speaker_centres(frames, spans, speakers, head) if speakers is not None else {}
    if design == "utterance":
        windows = layout_utterance_windows(words, utterances, n_samples / SAMPLE_RATE, window=window, hop=hop,
                                           short=short)
    else:
        # The layout depends only on the speech's first start and last end: lay it out from the two
        # words that hold them, then give each batch of windows its words (no words x windows matrix).
        ends = [int(np.argmin(spans[:, 0])), int(np.argmax(spans[:, 1]))]
        windows = layout_windows([words[i] for i in dict.fromkeys(ends)], n_samples / SAMPLE_RATE,
                                 window=window, hop=hop)
    fill = int(round(window * HEAD_FRAMES_PER_SECOND))
    results = []
    for b in range(0, len(windows), _WINDOW_BATCH):
        batch = windows[b: b + _WINDOW_BATCH]
        if design == "global":
            near = np.flatnonzero((spans[:, 0] < max(w.end for w in batch)) & (spans[:, 1] > batch[0].start))
            weights = overlap_matrix([words[i] for i in near], batch)
            for j, win in enumerate(batch):
                win.word_indices = [int(near[i]) for i in np.flatnonzero(weights[:, j] > 0)]
        texts = [window_text(words, w) if read_text else None for w in batch]
        present = [i for i, t in enumerate(texts) if t is not None]
        tokens = [None] * len(batch)  # a window without words: the head masks its text branch
        for i, embedded in zip(present, text_encoder.embed([texts[i] for i in present]) if present else []):
            tokens[i] = embedded
        audio = [(_window_frames(frames, w, fill, short == "tile").astype(np.float32)
                  - (centres.get(_window_speaker(w, spans, speakers), centre) if centres else centre))
                 / head.audio_std for w in batch]
        results.append(head.predict(tokens, audio))
        del audio, tokens
        release_freed_memory()  # the batch's frames and the head's intermediates
        report(_ENCODE_SHARE + _PREDICT_SHARE * min(1.0, (b + len(batch)) / len(windows)))
    probs, vad, gates = (np.concatenate([getattr(r, k) for r in results]) for k in ("probabilities", "vad", "gates"))
    if design == "utterance":
        emotions = _aggregate_by_utterance(words, utterances, windows, list(head.labels), probs, vad, gates)
    else:
        emotions = _aggregate_batches(words, spans, windows, list(head.labels), probs, vad, gates)
    report(1.0)
    return _lines(segments, emotions, utterances)


def _window_frames(frames: np.ndarray, win, fill: int, tile: bool = True) -> np.ndarray:
    """The window's frames; a short utterance's own frames repeated to ``fill`` frames."""
    own = frames_for_span(frames, win.start, win.end)
    if win.utterance is None or len(own) >= fill or not tile:
        return own
    return np.resize(own, (fill, own.shape[1]))  # tiles its own audio, never a neighbour's


def _aggregate_by_utterance(words, utterances, windows, labels, probs, vad, gates):
    by_utterance: dict[int, list[int]] = {}
    for j, win in enumerate(windows):
        by_utterance.setdefault(win.utterance, []).append(j)
    members: dict[int, list[int]] = {}
    for i, u in enumerate(utterances):
        members.setdefault(u, []).append(i)
    emotions = [None] * len(words)
    for u, idx in members.items():
        sel = by_utterance[u]
        for i, e in zip(idx, aggregate_words([words[i] for i in idx], [windows[j] for j in sel], labels,
                                             probs[sel], vad[sel], gates[sel])):
            emotions[i] = e
    return emotions


def _aggregate_batches(words, spans, windows, labels, probs, vad, gates):
    starts, stops = np.array([w.start for w in windows]), np.array([w.end for w in windows])
    emotions = []
    for a in range(0, len(words), _WORD_BATCH):
        lo, hi = spans[a: a + _WORD_BATCH, 0].min(), spans[a: a + _WORD_BATCH, 1].max()
        sel = np.flatnonzero((starts < hi) & (stops > lo))
        sel = sel if len(sel) else np.array([int(np.argmin(np.abs((starts + stops) / 2 - (lo + hi) / 2)))])
        emotions += aggregate_words(words[a: a + _WORD_BATCH], [windows[j] for j in sel], labels,
                                    probs[sel], vad[sel], gates[sel])
    return emotions


def _lines(segments: Sequence[Segment], emotions, utterances: list[int]) -> list[Line]:
    """One line per run of a segment's words within one utterance."""
    lines, k = [], 0
    for s in segments:
        run: list[AnalysedWord] = []
        for w in s.words:
            if run and utterances[k] != utterances[k - 1]:
                lines.append(Line(run[0].start, run[-1].end, run, utterance=utterances[k - 1]))
                run = []
            run.append(AnalysedWord(w.text, w.start, w.end, w.probability, emotions[k]))
            k += 1
        if run:
            lines.append(Line(run[0].start, run[-1].end, run, utterance=utterances[k - 1]))
    return lines


def recognise(audio: np.ndarray, segments: Sequence[Segment], head, audio_encoder, text_encoder, *,
              window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS,
              progress: Callable[[float], None] | None = None, **kwargs) -> list[Line]:
    """``recognise_chunks`` for a recording held whole in memory (16 kHz mono float32); takes its
    keywords too (``language``, ``speakers``: one id or None per word, in order over all segments)."""
    chunks = chunk_audio(audio)
    return recognise_chunks(chunks, len(audio), segments, head, audio_encoder, text_encoder,
                            window=window, hop=hop, progress=progress, **kwargs)
