"""Silero VAD run once per piece of audio, its speech probabilities thresholded as often as needed.

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


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """Silero's speech probability of each 512-sample window of 16 kHz ``audio`` (the last one
    zero-padded), as faster-whisper's ``get_speech_timestamps`` computes them."""
    from faster_whisper.vad import get_vad_model

    audio = np.asarray(audio, np.float32)
    padded = np.pad(audio, (0, WINDOW_SAMPLES - audio.shape[0] % WINDOW_SAMPLES))
    return np.asarray(get_vad_model()(padded), np.float32).reshape(-1)


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
