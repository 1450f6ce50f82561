"""A short real training run: real encoders on a few real clips, through the CLI commands."""

import csv
import shutil
from pathlib import Path

import pytest

from sentimentogram_cli.emotion.head import EmotionHead

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
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
    assert head.metadata.text_encoder.endswith("+text_encoder_delta")  # the shipped fine-tuned text layers
    assert head.metadata.extra["held_out"] == ["ravdess-13", "ravdess-20"]
    # ravdess-13 is a validation speaker: it fits the temperature; ravdess-20 is scored.
    assert head.metadata.temperature != 1.0 and "temperature" in output
    assert "held-out test speakers" in output

    code, output = run_cli(["evaluate", "--labels", str(data / "emotional_speech" / "labels.csv"),
                            "--checkpoint", str(out), "--cache", str(tmp_path / "cache")])
    assert code == 0, output
    assert "UA" in output and "confusion" in output
