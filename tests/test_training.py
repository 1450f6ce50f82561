"""A short real training run: real encoders on a few real clips, through the CLI commands."""

import csv
import shutil
from pathlib import Path

import pytest

from sentimentogram_cli.emotion.head import EmotionHead
from conftest import SHARED_DATA  # the project's data folder, in one place

SHARED = SHARED_DATA
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (SHARED / "emotional_speech" / "labels.csv").is_file(),
                       reason="needs ../shared/data (the training corpora) beside the repository"),
]


def _mini_data(root: Path) -> Path:
    """A copy of the shared layout: 4 RAVDESS actors × 4 emotions, and a few hundred sentences."""
    speech = root / "emotional_speech"
    rows = []
    with (SHARED / "emotional_speech" / "labels.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["corpus"] == "ravdess" and row["speaker"] in {"ravdess-01", "ravdess-02", "ravdess-13", "ravdess-20"} \
                    and row["label"] in {"neutral", "happy", "sad", "angry"} and row["path"].split("-")[3] == "02":
                rows.append(row)
    for row in rows:
        target = speech / row["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED / "emotional_speech" / row["path"], target)
    with (speech / "labels.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for sub, names, keep in (("goemotions_ekman", ["train.tsv", "dev.tsv", "test.tsv"], 120),
                             ("meld", ["train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv"], 80),
                             ("emobank", ["emobank.csv"], 120)):
        (root / "text" / sub).mkdir(parents=True)
        for name in names:
            lines = (SHARED / "text" / sub / name).read_text(encoding="utf-8").splitlines(keepends=True)
            (root / "text" / sub / name).write_text("".join(lines[:keep]), encoding="utf-8")
    return root


def test_train_then_evaluate_on_a_few_clips(tmp_path, run_cli):
    data = _mini_data(tmp_path / "data")
    out = tmp_path / "head.safetensors"
    code, output = run_cli(["train", "--data", str(data), "--out", str(out), "--cache", str(tmp_path / "cache"),
                            "--hold-out", "ravdess-13,ravdess-20", "--epochs", "2"])
    assert code == 0, output
    head = EmotionHead.load(out)
    assert head.metadata.audio_encoder == "whisper-base" and head.metadata.audio_layers == (1, 2, 3, 4)
    assert head.metadata.text_encoder.endswith("+text_encoder_delta_v2")  # the shipped fine-tuned text layers
    assert head.metadata.extra["held_out"] == ["ravdess-13", "ravdess-20"]
    # ravdess-13 is a validation speaker: it fits the temperature; ravdess-20 is scored.
    assert head.metadata.temperature != 1.0 and "temperature" in output
    assert "held-out test speakers" in output

    code, output = run_cli(["evaluate", "--labels", str(data / "emotional_speech" / "labels.csv"),
                            "--checkpoint", str(out), "--cache", str(tmp_path / "cache")])
    assert code == 0, output
    assert "UA" in output and "confusion" in output


def test_the_training_mix_shows_clips_alone_and_augmented(tmp_path):
    """A short real run of the mix `train` can use: some clips encoded alone (as render encodes one
    short clip) and some clips' augmented audio (noise, room, phone band, MP3, a second voice), beside
    the packed ones, with the recording-mean weight shrunk by the seconds it is taken over."""
    import numpy as np

    from sentimentogram_cli.emotion.features import AudioEncoder
    from sentimentogram_cli.training.alone import encode_alone, render_audio
    from sentimentogram_cli.training.data import load_training_data
    from sentimentogram_cli.training.mix import prepare_mix
    from sentimentogram_cli.training.train import TrainSettings, cached_train_head

    data = load_training_data(_mini_data(tmp_path / "data"), tmp_path / "cache")
    held = {"ravdess-13", "ravdess-20"}
    train = [i for i, c in enumerate(data.clips) if c.speaker not in held]
    settings = TrainSettings(epochs=1, alone_repeat=1, augment_rate=1.0, recording_mean_weight=1.0,
                             recording_mean_seconds=20.0)
    encoder = AudioEncoder()
    prepare_mix(data, train, settings, encoder, tmp_path / "cache", held)
    assert data.alone and set(data.alone) <= set(train) and data.augmented and set(data.augmented) <= set(train)
    first = next(iter(data.alone))
    np.testing.assert_array_equal(data.alone[first], encode_alone(render_audio(data.clips[first].path), encoder))
    assert data.augmented[first].shape == data.alone[first].shape  # same clip alone, same length, other audio
    assert not np.allclose(np.asarray(data.augmented[first], np.float32), np.asarray(data.alone[first], np.float32))

    head = cached_train_head(data, train, settings, tmp_path / "heads")
    assert head.metadata.recording_mean_seconds == 20.0 and head.metadata.extra["settings"]["alone_repeat"] == 1
    plain = cached_train_head(data, train, settings.variant(alone_repeat=0, augment_rate=0.0), tmp_path / "heads")
    assert len(list((tmp_path / "heads").glob("head-*.safetensors"))) == 2  # the mix is part of the cache key
    frames = [np.asarray(data.frames[i], np.float32)[:75] for i in train[:4]]
    assert not np.allclose(head.predict([None] * 4, frames).logits, plain.predict([None] * 4, frames).logits)


def test_a_speaker_cap_draws_at_most_that_many_packed_clips_of_each_speaker():
    from types import SimpleNamespace

    import numpy as np

    from sentimentogram_cli.training.corpora import Clip
    from sentimentogram_cli.training.train import _speaker_draw

    clips = [Clip(Path(f"{s}{k}.wav"), "happy", "c", s, "en", "") for s, n in (("a", 5), ("b", 1)) for k in range(n)]
    data = SimpleNamespace(clips=clips)
    assert _speaker_draw(data, list(range(6)), 0, np.random.default_rng(0)) is None  # no cap: every clip
    draws = [_speaker_draw(data, list(range(6)), 2, np.random.default_rng(seed)) for seed in range(5)]
    for drawn in draws:
        assert 5 in drawn and len(drawn) == 3 and drawn <= set(range(6))  # 2 of a's 5, b's only clip
    assert len({frozenset(d) for d in draws}) > 1  # drawn afresh: another epoch, other clips
