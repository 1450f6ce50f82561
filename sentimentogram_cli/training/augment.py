"""Waveform augmentation for training the emotion head on speech as real recordings carry it.

The acted corpora are clean studio speech; real videos have noise, rooms, phone lines, lossy
codecs and people talking over each other. Each augmented clip gets one condition (in turn,
seeded by the clip), made with audiomentations (a maintained library, pinned in pyproject.toml)
rather than hand-written DSP:
- ``noise``: Gaussian noise at 5-20 dB SNR;
- ``reverb``: a room impulse response (synthetic, RT60 0.2-0.8 s, written once to the cache);
- ``phone``: band-limited to a telephone band (high-pass 250-400 Hz, low-pass 3-3.8 kHz) and
  compressed by soft clipping;
- ``mp3``: MP3 at 16-64 kbit/s (fast-mp3-augment's LAME);
- ``voice``: another speaker of the same corpus underneath at -10 dB (10 dB SNR), so a
  leave-one-corpus-out fold never hears the corpus it leaves out.
The augmented clips are encoded alone, as ``render`` encodes one short clip (``training.alone``),
and cached one file per clip (``augmented_frames``), so every fold reuses them; the training mix
shows them beside the clean ones (``TrainSettings.augment_rate``).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..constants import SAMPLE_RATE
from .alone import encode_alone, render_audio
from .corpora import Clip
from .feature_cache import cache_key

__all__ = ["AUGMENT_VERSION", "CONDITIONS", "WaveAugmenter", "room_impulse_responses", "augmented_frames",
           "voices_by_corpus"]

AUGMENT_VERSION = "wave-aug-alone-v2"  # v2: clips encoded alone, mp3, voices of the clip's own corpus
CONDITIONS = ("noise", "reverb", "phone", "mp3", "voice")
_VOICES_PER_SPEAKER = 2


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


def voices_by_corpus(clips: list[Clip], held: frozenset[str], seed: int = 0) -> dict[str, dict[str, list[Path]]]:
    """corpus -> speaker -> a few of that speaker's clips (seeded): the second voices to draw
    from, none of the ``held`` (validation and test) speakers."""
    rng = random.Random(seed)
    pools: dict[str, dict[str, list[Path]]] = {}
    for clip in clips:
        if clip.speaker in held:
            continue
        pools.setdefault(clip.corpus, {}).setdefault(clip.speaker or clip.corpus, []).append(Path(clip.path))
    for speakers in pools.values():
        for speaker, paths in speakers.items():
            speakers[speaker] = sorted(rng.sample(sorted(paths), min(_VOICES_PER_SPEAKER, len(paths))))
    return pools


class WaveAugmenter:
    """``augmenter(audio, k, voices) -> (audio, condition)``: the k-th clip gets
    ``CONDITIONS[k % 5]``, its random draws seeded by ``seed`` and ``k`` (the same clip always
    comes out the same); ``voices`` are the clips the "voice" condition may lay underneath."""

    def __init__(self, ir_folder: Path, seed: int = 0):
        from audiomentations import (AddGaussianSNR, ApplyImpulseResponse, Compose, HighPassFilter, LowPassFilter,
                                     Mp3Compression, TanhDistortion)

        self.seed = seed
        self.transforms = {
            "noise": AddGaussianSNR(min_snr_db=5.0, max_snr_db=20.0, p=1.0),
            "reverb": ApplyImpulseResponse(ir_path=room_impulse_responses(ir_folder, seed=seed), p=1.0,
                                           leave_length_unchanged=True),
            "phone": Compose([HighPassFilter(min_cutoff_freq=250.0, max_cutoff_freq=400.0, p=1.0),
                              LowPassFilter(min_cutoff_freq=3000.0, max_cutoff_freq=3800.0, p=1.0),
                              TanhDistortion(min_distortion=0.1, max_distortion=0.4, p=1.0)]),
            "mp3": Mp3Compression(min_bitrate=16, max_bitrate=64, backend="fast-mp3-augment", p=1.0),
        }

    def condition(self, k: int) -> str:
        return CONDITIONS[k % len(CONDITIONS)]

    def __call__(self, audio: np.ndarray, k: int, voices: list[Path]) -> tuple[np.ndarray, str]:
        from audiomentations import AddBackgroundNoise

        condition = self.condition(k)
        random.seed(self.seed * 1_000_003 + k)
        np.random.seed((self.seed * 1_000_003 + k) % 2**32)
        if condition == "voice":
            transform = AddBackgroundNoise(sounds_path=[str(p) for p in voices], min_snr_db=10.0, max_snr_db=10.0,
                                           p=1.0)
        else:
            transform = self.transforms[condition]
        out = transform(samples=np.asarray(audio, np.float32), sample_rate=SAMPLE_RATE)
        peak = float(np.abs(out).max()) if len(out) else 0.0
        return (out / peak * 0.99 if peak > 1.0 else out).astype(np.float32), condition


def augmented_frames(clips: list[Clip], indices: list[int], encoder, cache_dir: Path, held: frozenset[str],
                     seed: int = 0, progress: Callable[[int, int], None] | None = None) -> dict[int, np.ndarray]:
    """Clip index -> frames of its augmented audio encoded alone, for ``indices``: one cached file
    per clip, so any fold or subset reuses what an earlier run encoded. No second voice is drawn
    from the ``held`` speakers (part of the cache key)."""
    folder = Path(cache_dir) / "augmented-alone"
    folder.mkdir(parents=True, exist_ok=True)
    augmenter: WaveAugmenter | None = None
    voices = voices_by_corpus(clips, held, seed)
    out: dict[int, np.ndarray] = {}
    for n, i in enumerate(indices):
        clip = clips[i]
        key = cache_key(encoder.identity, AUGMENT_VERSION, encoder.layers, seed, sorted(held),
                        str(Path(clip.path).resolve()))
        path = folder / f"{key}.npy"
        if not path.is_file():
            augmenter = augmenter or WaveAugmenter(Path(cache_dir) / "rir", seed)
            others = [p for speaker, paths in sorted(voices.get(clip.corpus, {}).items())
                      if speaker != (clip.speaker or clip.corpus) for p in paths]
            audio, _ = augmenter(render_audio(clip.path), i, others or [Path(clip.path)])
            tmp = path.with_name(path.name + ".tmp")
            with tmp.open("wb") as f:
                np.save(f, encode_alone(audio, encoder))
            os.replace(tmp, path)
        out[i] = np.load(path)
        if progress and (n + 1 == len(indices) or (n + 1) % 40 == 0):
            progress(n + 1, len(indices))
    return out
