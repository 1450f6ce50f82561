"""The layer-selection probe ranks a layer that carries the label above one that does not."""

from pathlib import Path

import numpy as np

from sentimentogram_cli.training.corpora import Clip
from sentimentogram_cli.training.data import TrainingData
from sentimentogram_cli.training.feature_cache import RaggedArrays
from sentimentogram_cli.training.probe import pooled_clip_features, probe_accuracy, probe_table

LABELS = ("neutral", "happy", "sad", "angry")


def _data(seed=0, per_speaker=24):
    rng = np.random.default_rng(seed)
    clips, frames = [], []
    for corpus in ("a", "b", "c"):
        for speaker in range(4):
            for k in range(per_speaker):
                label = LABELS[k % 4]
                clips.append(Clip(Path(f"{corpus}{speaker}-{k}.wav"), label, corpus, f"{corpus}-{speaker}", "en", ""))
                noise = rng.normal(size=(30, 8))  # layer 1: nothing to do with the label
                signal = rng.normal(size=(30, 8)) + 2.0 * np.eye(8)[LABELS.index(label)]  # layer 2: the label
                frames.append(np.hstack([noise, signal]).astype(np.float32))
    return TrainingData(clips, RaggedArrays.from_list(frames), None, {}, "test", "test", LABELS, frame_layers=(1, 2))


def test_probe_prefers_the_layer_that_carries_the_label():
    data = _data()
    pooled = pooled_clip_features(data)
    train = [i for i, c in enumerate(data.clips) if not c.speaker.endswith("-3")]
    test = [i for i, c in enumerate(data.clips) if c.speaker.endswith("-3")]
    assert probe_accuracy(data, pooled, (2,), train, test) > 0.9
    assert probe_accuracy(data, pooled, (1,), train, test) < 0.6


def test_probe_table_never_trains_on_the_left_out_corpus():
    data = _data()
    validation = [i for i, c in enumerate(data.clips) if c.speaker == "a-3"]
    pool = [i for i, c in enumerate(data.clips) if c.speaker != "a-3"]
    table = probe_table(data, {"layer 2": (2,)}, validation, pool, ("a", "b", "c"), lambda i: True)
    row = table["layer 2"]
    assert set(row["loco"]) == {"a", "b", "c"} and row["validation_ua"] > 0.9
    assert abs(row["loco_mean"] - np.mean(list(row["loco"].values()))) < 1e-9
