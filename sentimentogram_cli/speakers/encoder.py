"""The speaker encoder: Resemblyzer's GE2E voice encoder (Jemine, after Wan et al., ICASSP 2018),
its weights read from the ``resemblyzer`` wheel and checked against a pinned SHA-256.

Only the weight file comes from that package. Its own code imports ``webrtcvad`` (whose last
release imports ``pkg_resources``, gone from current setuptools) and ``librosa`` (numba) at
import time, for a silence trimmer and a mel spectrogram we do not need: the network (a 3-layer
LSTM over 40 mel bands, 256-d, ReLU, L2 norm) and the mel spectrogram it was trained on are
rebuilt here in torch and numpy (``mel_spectrogram`` matches ``librosa.feature.melspectrogram``
with the encoder's settings; tests/test_speakers.py checks it against librosa).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from ..assets import ge2e_weights_path
from ..constants import SAMPLE_RATE
from ..devices import torch_threads

__all__ = ["ENCODER_ID", "EMBEDDING_SIZE", "PARTIAL_FRAMES", "mel_spectrogram", "SpeakerEncoder"]

ENCODER_ID = "resemblyzer==0.1.4:pretrained.pt (GE2E)"
_N_FFT, _HOP, _N_MELS = 400, 160, 40  # 25 ms windows, 10 ms steps, 40 bands (resemblyzer.hparams)
EMBEDDING_SIZE = 256
PARTIAL_FRAMES = 160  # 1.6 s: the length of the partial utterances the encoder was trained on
_PARTIAL_STEP = 77  # frames between partials (resemblyzer's rate of 1.3 partials a second)
_TARGET_DBFS = -30.0  # every piece is raised to this level before the mel (never lowered)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:  # Slaney's scale, as librosa's default
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log_region = f >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    """The Slaney-normalised triangular filterbank (``librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)``)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + _N_FFT // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), _N_MELS + 2))
    fdiff, ramps = np.diff(mel_f), mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((_N_MELS, len(fft_freqs)))
    for i in range(_N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2: _N_MELS + 2] - mel_f[:_N_MELS]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)  # periodic Hann


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) float32 power mel spectrogram of 16 kHz audio, centred frames every 10 ms
    (reflect padding), as the encoder was trained on; not logarithmic."""
    wav = np.asarray(wav, np.float32)
    if len(wav) <= _N_FFT // 2:
        wav = np.pad(wav, (0, _N_FFT // 2 + 1 - len(wav)))
    padded = np.pad(wav, _N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(padded) - _N_FFT) // _HOP
    frames = np.lib.stride_tricks.as_strided(padded, (n_frames, _N_FFT), (padded.strides[0] * _HOP, padded.strides[0]))
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    return (power.astype(np.float32) @ _mel_basis().T).astype(np.float32)


class SpeakerEncoder:
    """Voice embeddings of stretches of 16 kHz audio: ``embed(pieces) -> (n, 256)`` unit vectors.
    A piece up to 1.6 s goes through the network whole; a longer one as 1.6 s partials 0.77 s
    apart whose embeddings are averaged (resemblyzer's ``embed_utterance``)."""

    def __init__(self, device: str = "cpu"):
        import torch
        from torch import nn

        state = torch.load(ge2e_weights_path(), map_location="cpu", weights_only=True)["model_state"]
        self.lstm = nn.LSTM(_N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, EMBEDDING_SIZE)
        self.lstm.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("linear.")})
        self.device = device
        for module in (self.lstm, self.linear):
            module.to(device).eval()

    def _forward(self, mels: list[np.ndarray]) -> np.ndarray:
        import torch
        from torch.nn.utils.rnn import pack_sequence

        # One intra-op thread on the CPU: an LSTM step is many small kernels, and with two or more
        # threads on a busy machine their synchronisation costs 20x (measured: 120 s against 5 s).
        with torch_threads(1 if self.device == "cpu" else None), torch.inference_mode():
            order = sorted(range(len(mels)), key=lambda i: -len(mels[i]))
            packed = pack_sequence([torch.from_numpy(mels[i]).to(self.device) for i in order])
            _, (hidden, _) = self.lstm(packed)
            raw = torch.relu(self.linear(hidden[-1])).cpu().numpy()
        out = np.empty_like(raw)
        out[order] = raw
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def embed(self, pieces: Iterable[np.ndarray], batch: int = 64) -> np.ndarray:
        """One unit-length 256-d embedding per piece of audio (16 kHz mono float32).

        Streams: ``pieces`` may be a generator; each piece's mel partials wait in a queue that is
        run through the network ``batch`` partials at a time, so memory holds at most one batch of
        partials and one piece's audio besides the (n, 256) sums, whatever the input's length
        (issue 25). The batches are the same as over a list, so the result is too."""
        sums: list[np.ndarray] = []
        queue: list[np.ndarray] = []
        owners: list[int] = []

        def run(partials: list[np.ndarray], owner: list[int]) -> None:
            for k, e in zip(owner, self._forward(partials)):
                sums[k] += e

        for k, wav in enumerate(pieces):
            sums.append(np.zeros(EMBEDDING_SIZE, np.float32))
            mel = mel_spectrogram(_levelled(wav))
            queue += [mel[s: s + PARTIAL_FRAMES].copy() for s in _partial_starts(len(mel))]
            owners += [k] * (len(queue) - len(owners))
            while len(queue) >= batch:
                run(queue[:batch], owners[:batch])
                del queue[:batch], owners[:batch]
        if queue:
            run(queue, owners)
        if not sums:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        out = np.stack(sums)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _levelled(wav: np.ndarray) -> np.ndarray:
    """``wav`` raised to ``_TARGET_DBFS`` (never lowered)."""
    wav = np.asarray(wav, np.float32)
    rms = float(np.sqrt(np.mean(wav ** 2))) if len(wav) else 0.0
    return wav * max(1.0, 10 ** (_TARGET_DBFS / 20) / rms) if rms > 0 else wav


def _partial_starts(frames: int) -> list[int]:
    """Where a piece's 1.6 s partials start, 0.77 s apart, the last one flush with its end."""
    if frames <= PARTIAL_FRAMES:
        return [0]
    starts = list(range(0, frames - PARTIAL_FRAMES + 1, _PARTIAL_STEP))
    if starts[-1] + PARTIAL_FRAMES < frames:
        starts.append(frames - PARTIAL_FRAMES)
    return starts
