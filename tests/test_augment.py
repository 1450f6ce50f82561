"""Waveform augmentation (training.augment): each condition changes the audio, keeps its length,
and comes out the same for the same clip; the second voice never comes from a held-out speaker."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("audiomentations")

from sentimentogram_cli.constants import SAMPLE_RATE  # noqa: E402
from sentimentogram_cli.training.augment import CONDITIONS, WaveAugmenter, voices_by_corpus  # noqa: E402
from sentimentogram_cli.training.corpora import Clip  # noqa: E402

JFK = Path(__file__).resolve().parents[1] / "examples" / "jfk.flac"


def _speech() -> np.ndarray:
    from sentimentogram_cli.media import decode_audio

    return decode_audio(JFK)[: 3 * SAMPLE_RATE]


def test_every_condition_changes_the_audio_keeps_its_length_and_repeats(tmp_path):
    audio = _speech()
    augmenter = WaveAugmenter(tmp_path / "rir")
    seen = set()
    for k in range(len(CONDITIONS)):
        out, condition = augmenter(audio, k, [JFK])
        again, _ = augmenter(audio, k, [JFK])
        seen.add(condition)
        assert out.shape == audio.shape and out.dtype == np.float32, condition
        assert np.abs(out).max() <= 1.0, condition
        assert not np.allclose(out, audio, atol=1e-3), condition
        np.testing.assert_array_equal(out, again)
    assert seen == set(CONDITIONS)


def test_second_voices_come_from_the_clips_corpus_and_never_from_held_speakers():
    clips = [Clip(Path(f"/{c}/{s}/{n}.wav"), "angry", c, f"{c}-{s}", "en", "")
             for c in ("ravdess", "tess") for s in range(3) for n in range(4)]
    pools = voices_by_corpus(clips, frozenset({"ravdess-1"}))
    assert set(pools) == {"ravdess", "tess"}
    assert set(pools["ravdess"]) == {"ravdess-0", "ravdess-2"}
    assert all(len(paths) == 2 and all(p.parts[1] == "ravdess" for p in paths) for paths in pools["ravdess"].values())
