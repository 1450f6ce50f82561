"""Waveform augmentation for training the emotion head on speech as real recordings carry it.

The acted corpora are clean studio speech; real videos have noise, rooms, phone lines and people
talking over each other. Each augmented clip gets one condition (in turn, seeded), made with
audiomentations (a maintained library, pinned in pyproject.toml) rather than hand-written DSP:
- ``noise``: Gaussian noise at 5-20 dB SNR;
- ``reverb``: a room impulse response (synthetic, RT60 0.2-0.8 s, written once to the cache);
- ``phone``: band-limited to a telephone band (high-pass 250-400 Hz, low-pass 3-3.8 kHz) and
  compressed by soft clipping;
- ``voice``: another speaker's clip underneath at -10 dB (10 dB SNR).
The augmented clips are encoded packed by speaker like the clean ones and cached
(``augmented_frames``); the training mix shows them beside the clean ones (``TrainSettings.augment_rate``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..constants import SAMPLE_RATE
from .corpora import Clip, load_clip_audio, packing_order
from .feature_cache import RaggedArrays, cache_key, cached

__all__ = ["AUGMENT_VERSION", "CONDITIONS", "WaveAugmenter", "room_impulse_responses", "augmented_frames"]

AUGMENT_VERSION = "wave-aug-v1"
CONDITIONS = ("noise", "reverb", "phone", "voice")


def room_impulse_responses(folder: Path, n: int = 8, seed: int = 0) -> list[Path]:
    """``n`` synthetic room impulse responses (a direct path, then exponentially decaying noise
    with RT60 from 0.2 to 0.8 s), written once as 16 kHz WAV files for ApplyImpulseResponse."""
    import soundfile as sf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k, rt60 in enumerate(np.linspace(0.2, 0.8, n)):
        path = folder / f"rir-{seed}-{k}.wav"
        if not path.is_file():
            t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
            ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
            ir[0] = 1.0 / 0.3
            tmp = path.with_suffix(".tmp.wav")
            sf.write(tmp, (ir / np.abs(ir).max()).astype(np.float32), SAMPLE_RATE)
            tmp.replace(path)
        paths.append(path)
    return paths


class WaveAugmenter:
    """``augmenter(audio, k) -> (audio, condition)``: the k-th clip gets ``CONDITIONS[k % 4]``,
    its random draws seeded by ``seed`` and ``k`` (the same clip always comes out the same)."""

    def __init__(self, voices: Sequence[Path], ir_folder: Path, seed: int = 0):
        from audiomentations import (AddBackgroundNoise, AddGaussianSNR, ApplyImpulseResponse, Compose,
                                     HighPassFilter, LowPassFilter, TanhDistortion)

        self.seed = seed
        self.transforms = {
            "noise": AddGaussianSNR(min_snr_db=5.0, max_snr_db=20.0, p=1.0),
            "reverb": ApplyImpulseResponse(ir_path=room_impulse_responses(ir_folder, seed=seed), p=1.0,
                                           leave_length_unchanged=True),
            "phone": Compose([HighPassFilter(min_cutoff_freq=250.0, max_cutoff_freq=400.0, p=1.0),
                              LowPassFilter(min_cutoff_freq=3000.0, max_cutoff_freq=3800.0, p=1.0),
                              TanhDistortion(min_distortion=0.1, max_distortion=0.4, p=1.0)]),
            "voice": AddBackgroundNoise(sounds_path=[str(p) for p in voices], min_snr_db=10.0, max_snr_db=10.0,
                                        p=1.0),
        }

    def __call__(self, audio: np.ndarray, k: int) -> tuple[np.ndarray, str]:
        condition = CONDITIONS[k % len(CONDITIONS)]
        random.seed(self.seed * 1_000_003 + k)
        np.random.seed((self.seed * 1_000_003 + k) % 2**32)
        out = self.transforms[condition](samples=np.asarray(audio, np.float32), sample_rate=SAMPLE_RATE)
        peak = float(np.abs(out).max()) if len(out) else 0.0
        return (out / peak * 0.99 if peak > 1.0 else out).astype(np.float32), condition


def augmented_frames(clips: list[Clip], indices: list[int], encoder, cache_dir: Path, voices: Sequence[Path],
                     seed: int = 0, progress: Callable[[int, int], None] | None = None) -> dict[int, np.ndarray]:
    """Clip index -> frames of its augmented audio, the clips packed by speaker as in training."""
    key = cache_key(encoder.identity, AUGMENT_VERSION, encoder.layers, seed, [str(Path(clips[i].path).resolve()) for i in indices],
                    [str(v) for v in voices])
    subset = [clips[i] for i in indices]

    def compute():
        augmenter = WaveAugmenter(voices, Path(cache_dir) / "rir", seed)
        order = packing_order(subset)
        frames: list[np.ndarray | None] = [None] * len(subset)
        for b in range(0, len(order), 128):
            block = order[b: b + 128]
            audio = [augmenter(load_clip_audio(subset[j].path), indices[j])[0] for j in block]
            for j, f in zip(block, encoder.encode_clips(audio)):
                frames[j] = f.astype(np.float16)
            if progress:
                progress(min(b + 128, len(order)), len(order))
        return frames

    arrays: RaggedArrays = cached(Path(cache_dir), "augmented", key, compute)
    return {i: arrays[j] for j, i in enumerate(indices)}
