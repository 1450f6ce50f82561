"""A long recording decoded as one, in bounded memory (issue 25).

Why: cut into pieces of at most two minutes, a recording was decoded in 30 s windows placed anew
in every piece, each piece ending in a part-filled window: more windows than faster-whisper decodes
over the whole file, placed where it would not place them. On the issue's 306 s talk, pieces of
110-180 s each gave the first pass one to three looping segments that the whole file does not
(and a second pass to repair them), and the first pass took 27 s where faster-whisper alone takes
21 s for the whole process. So a recording longer than one piece is decoded as faster-whisper
decodes a whole file with its VAD filter, holding about one window of it at a time:

- ``ChunkedAudio`` reads the recording from its 30 s chunks (spilled to disk by the analyser);
- ``vad.speech_probabilities`` runs Silero a batch at a time as faster-whisper batches it (equal);
- ``SpeechAudio`` lays the VAD regions end to end, as faster-whisper's ``collect_chunks`` does;
- ``SpeechMel`` makes their log-mel block by block into a temporary file and clamps it by its
  maximum over all the speech, as faster-whisper's ``FeatureExtractor`` does for the whole array:
  bit for bit, the mel projection summed as its one product over all the speech sums each value
  (``mel_product``; where numpy's BLAS is not the one modelled there, a product per block, which
  differs in the last bit of ~0.1 % of the values, enough for Whisper base to loop elsewhere);
- ``decode_streamed`` runs faster-whisper's own ``transcribe`` on it and maps times back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..constants import CHUNK_SAMPLES, SAMPLE_RATE
from ..spill import SpilledRows
from .mel_product import exact_here, openblas_threads, project, split_sums

__all__ = ["ChunkedAudio", "SpeechAudio", "SpeechMel", "decode_streamed", "samples"]

_MEL_BLOCK = 3000  # log-mel frames made at once (30 s)


def samples(chunks, a: int, b: int) -> np.ndarray:
    """Samples [a, b) of the recording held as 30 s chunks."""
    parts = [chunks[i][max(0, a - i * CHUNK_SAMPLES): b - i * CHUNK_SAMPLES]
             for i in range(a // CHUNK_SAMPLES, (b - 1) // CHUNK_SAMPLES + 1)]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


class _Slices(ABC):
    """Read like a 1-D float32 array: ``len()`` and contiguous slices ``[a:b]``, a fresh array;
    each kind says how it reads samples [a, b) (``_read``)."""

    n: int

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice):
            raise TypeError("read by slices of samples")
        a, b, step = index.indices(self.n)
        if step != 1:
            raise ValueError("read by contiguous slices")
        return self._read(a, b) if b > a else np.zeros(0, np.float32)

    @abstractmethod
    def _read(self, a: int, b: int) -> np.ndarray: ...


class ChunkedAudio(_Slices):
    """A recording of ``n_samples`` held as 30 s chunks (a list, or ``spill.SpilledChunks``)."""

    def __init__(self, chunks, n_samples: int):
        self.chunks, self.n = chunks, int(n_samples)

    def _read(self, a: int, b: int) -> np.ndarray:
        return np.asarray(samples(self.chunks, a, b), np.float32)


class SpeechAudio(_Slices):
    """The ``regions`` ({"start", "end"} in samples) of ``audio`` laid end to end."""

    def __init__(self, audio: _Slices | np.ndarray, regions: list[dict]):
        self.audio, self.regions = audio, regions
        self.starts = np.cumsum([0] + [r["end"] - r["start"] for r in regions])
        self.n = int(self.starts[-1])

    def _read(self, a: int, b: int) -> np.ndarray:
        first = int(np.searchsorted(self.starts, a, side="right")) - 1
        parts = []
        for k in range(first, len(self.regions)):
            at, region = int(self.starts[k]), self.regions[k]
            if at >= b:
                break
            parts.append(self.audio[region["start"] + max(0, a - at): region["start"] + min(b, int(self.starts[k + 1])) - at])
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


class SpeechMel:
    """faster-whisper's log-mel of ``speech`` (``extractor``: its ``FeatureExtractor``), made
    _MEL_BLOCK frames at a time into a temporary file; read as ``mel[:, a:b]`` (80 x frames).
    ``exact``: whether it is the extractor's bit for bit (the mel projection as its one product)."""

    def __init__(self, speech: _Slices | np.ndarray, extractor):
        self.hop, self.n_fft, self.filters = extractor.hop_length, extractor.n_fft, extractor.mel_filters
        self.window = np.hanning(self.n_fft + 1)[:-1].astype("float32")
        self.speech, self.n = speech, len(speech)
        self.frames = (self.n + self.hop) // self.hop  # the extractor pads a hop of zeros, drops the last frame
        threads = openblas_threads()
        self.exact = self.frames > 1 and exact_here(self.filters, threads)  # one frame: numpy's matrix-vector product
        self._split = split_sums(self.frames, threads or 1, *self.filters.shape) if self.exact else None
        self._rows = SpilledRows(len(self.filters), np.float32)
        top = np.float32(-np.inf)
        for first in range(0, self.frames, _MEL_BLOCK):
            raw = self._log10_mel(first, min(self.frames, first + _MEL_BLOCK))
            top = max(top, raw.max())
            self._rows.append(raw.T)
        self.floor = top - 8.0  # as the extractor clamps: 8 (log10 units) below the loudest

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.filters), self.frames

    def __getitem__(self, index) -> np.ndarray:
        rows, frames = index  # [:, a:b] or [..., a:b]
        if rows not in (slice(None), Ellipsis) or not isinstance(frames, slice):
            raise TypeError("read as mel[:, a:b]")
        a, b, _ = frames.indices(self.frames)
        return (np.maximum(self._rows[a:b].T, self.floor) + 4.0) / 4.0

    def _log10_mel(self, first: int, stop: int) -> np.ndarray:
        """log10 of the mel energies of frames [first, stop): the extractor's STFT (the speech
        and a hop of zeros, reflected at both ends by half a window) over just those frames."""
        half, length = self.n_fft // 2, self.n + self.hop
        index = np.arange(first * self.hop - half, (stop - 1) * self.hop + half)
        index = np.where(index < 0, -index, index)
        index = np.where(index >= length, 2 * (length - 1) - index, index)
        lo, hi = int(index.min()), int(min(index.max() + 1, self.n))
        read = self.speech[lo:hi] if hi > lo else np.zeros(0, np.float32)
        values = np.zeros(len(index), np.float32)
        inside = index < self.n
        values[inside] = read[index[inside] - lo]
        magnitudes = np.abs(_stft(values, self.n_fft, self.hop, self.window)) ** 2
        mel = self.filters @ magnitudes if self._split is None else project(self.filters, magnitudes, first, self._split)
        return np.log10(np.clip(mel, a_min=1e-10, a_max=None))


def _stft(values: np.ndarray, n_fft: int, hop: int, window: np.ndarray) -> np.ndarray:
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor.stft(values, n_fft, hop, window=window, center=False,
                                 return_complex=True).astype("complex64")


class _GivenMel:
    """A FeatureExtractor that returns ``mel`` for whatever it is given (its other attributes the
    real extractor's)."""

    def __init__(self, extractor, mel: SpeechMel):
        self._extractor, self._mel = extractor, mel

    def __call__(self, *args, **kwargs) -> SpeechMel:
        return self._mel

    def __getattr__(self, name: str):
        return getattr(self._extractor, name)


class _WithMel:
    """The recogniser as its own ``transcribe`` sees it, with the log-mel already made."""

    def __init__(self, model, mel: SpeechMel):
        self._model, self.feature_extractor = model, _GivenMel(model.feature_extractor, mel)

    def __getattr__(self, name: str):
        return getattr(self._model, name)


def decode_streamed(model, audio: _Slices | np.ndarray, regions: list[dict], language: str | None, kwargs: dict):
    """faster-whisper's ``transcribe`` (word timestamps, no VAD filter of its own, ``kwargs``) of
    the speech ``regions`` of ``audio`` laid end to end, its segments' times mapped back to the
    recording: (segments, a generator; its info)."""
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import restore_speech_timestamps

    speech = SpeechAudio(audio, regions)
    mel = SpeechMel(speech, model.feature_extractor)
    length_only = np.broadcast_to(np.zeros(1, np.float32), (len(speech),))  # transcribe reads its length
    pieces, info = WhisperModel.transcribe(_WithMel(model, mel), length_only, language=language,
                                           word_timestamps=True, vad_filter=False, **kwargs)
    return restore_speech_timestamps(pieces, regions, SAMPLE_RATE), info
