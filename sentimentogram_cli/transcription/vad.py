"""Silero VAD run once per recording (or piece), its speech probabilities thresholded as often as needed.

Why: a piece is read by Silero twice, by faster-whisper's VAD filter (threshold 0.5, what is
decoded at all) and by ``speech.speech_stretches`` (a lenient 0.25, where words are expected),
and the network's probabilities are the same both times; only the thresholding differs. So
``speech_probabilities`` runs the network once (faster-whisper's own model and padding) and
``speech_chunks`` turns the probabilities into regions exactly as faster-whisper 1.2.1's
``get_speech_timestamps`` does (the same state machine, here fed with the probabilities instead
of computing them; a test holds the two equal). ``decoding.decode`` then gives faster-whisper the
speech its VAD filter would have kept and maps the times back as it would have (issue 25).
"""

from __future__ import annotations

import numpy as np

from ..constants import SAMPLE_RATE

__all__ = ["WINDOW_SAMPLES", "speech_probabilities", "speech_chunks"]

WINDOW_SAMPLES = 512  # Silero's window at 16 kHz (32 ms): one probability each
_CONTEXT_SAMPLES = 64  # the end of the window before, given with each window
# Windows given to Silero at once. faster-whisper gives it 10,000 (320 s); a window's probability
# depends only on it and the 64 samples before it, so the batching changes no probability (a test
# holds them equal to faster-whisper's), and 1,024 windows keep Silero's activations small whatever
# the input's length (10,000 hold those of 320 s of audio at once; issue 25).
_SILERO_BATCH = 1024


def speech_probabilities(audio) -> np.ndarray:
    """Silero's speech probability of each 512-sample window of 16 kHz ``audio`` (an array, or
    anything read by slices, as ``stream.ChunkedAudio``), as faster-whisper's
    ``get_speech_timestamps`` computes them: the audio padded with zeros to whole windows (a whole
    window more when it fits exactly), each window given the last 64 samples of the one before
    (none for the first; the very last window's own last 64 zeroed, as faster-whisper's
    ``SileroVADModel`` does in place). Done here _SILERO_BATCH windows at a time, read from
    ``audio`` as needed, so only one batch of a long recording is in memory."""
    from faster_whisper.vad import get_vad_model

    session = get_vad_model().session
    n = len(audio)
    windows = n // WINDOW_SAMPLES + 1
    state = [np.zeros((1, 1, 128), np.float32), np.zeros((1, 1, 128), np.float32)]
    before = np.zeros(_CONTEXT_SAMPLES, np.float32)
    out = []
    for first in range(0, windows, _SILERO_BATCH):
        stop = min(windows, first + _SILERO_BATCH)
        flat = np.zeros((stop - first) * WINDOW_SAMPLES, np.float32)
        data = np.asarray(audio[first * WINDOW_SAMPLES: min(n, stop * WINDOW_SAMPLES)], np.float32)
        flat[: len(data)] = data
        block = flat.reshape(-1, WINDOW_SAMPLES)
        if stop == windows:
            block[-1, -_CONTEXT_SAMPLES:] = 0
        context = np.concatenate([before[None], block[:-1, -_CONTEXT_SAMPLES:]])
        before = block[-1, -_CONTEXT_SAMPLES:].copy()
        probs, *state = session.run(None, {"input": np.concatenate([context, block], 1), "h": state[0], "c": state[1]})
        out.append(probs)
    return np.asarray(np.concatenate(out), np.float32).reshape(-1)


def speech_chunks(probs: np.ndarray, n_samples: int, *, threshold: float = 0.5, neg_threshold: float | None = None,
                  min_speech_duration_ms: int = 0, max_speech_duration_s: float = float("inf"),
                  min_silence_duration_ms: int = 2000, speech_pad_ms: int = 400) -> list[dict]:
    """Speech regions ({"start", "end"} in samples) of a recording ``n_samples`` long whose
    window probabilities are ``probs``: faster-whisper's ``get_speech_timestamps`` with these
    ``VadOptions`` fields, step for step."""
    sr, window = SAMPLE_RATE, WINDOW_SAMPLES
    min_speech_samples = sr * min_speech_duration_ms / 1000
    speech_pad_samples = sr * speech_pad_ms / 1000
    max_speech_samples = sr * max_speech_duration_s - window - 2 * speech_pad_samples
    min_silence_samples = sr * min_silence_duration_ms / 1000
    min_silence_samples_at_max_speech = sr * 98 / 1000
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)
    triggered = False
    speeches: list[dict] = []
    current: dict = {}
    temp_end = prev_end = next_start = 0  # a possible end (some silence tolerated); limits at max length
    # Compared as faster-whisper compares them (float32 probabilities against the Python floats).
    speech, quiet = (probs >= threshold).tolist(), (probs < neg_threshold).tolist()
    for i, (loud, low) in enumerate(zip(speech, quiet)):
        at = window * i
        if loud and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = at
        if loud and not triggered:
            triggered = True
            current["start"] = at
            continue
        if triggered and at - current["start"] > max_speech_samples:
            if prev_end:
                current["end"] = prev_end
                speeches.append(current)
                current = {}
                if next_start < prev_end:  # silence reached and still not speech
                    triggered = False
                else:
                    current["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current["end"] = at
                speeches.append(current)
                current = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if low and triggered:
            if not temp_end:
                temp_end = at
            if at - temp_end > min_silence_samples_at_max_speech:
                prev_end = temp_end
            if at - temp_end < min_silence_samples:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech_samples:
                speeches.append(current)
            current = {}
            prev_end = next_start = temp_end = 0
            triggered = False
    if current and n_samples - current["start"] > min_speech_samples:
        current["end"] = n_samples
        speeches.append(current)
    return _padded(speeches, n_samples, speech_pad_samples)


def _padded(speeches: list[dict], n_samples: int, pad: float) -> list[dict]:
    """Each region widened by ``pad`` samples, a short silence between two split in half."""
    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - pad))
        if i != len(speeches) - 1:
            silence = speeches[i + 1]["start"] - speech["end"]
            if silence < 2 * pad:
                speech["end"] += int(silence // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence // 2))
            else:
                speech["end"] = int(min(n_samples, speech["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            speech["end"] = int(min(n_samples, speech["end"] + pad))
    return speeches
