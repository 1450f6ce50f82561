"""`train --finetune`: adapting the head to a user's own labelled clips.

The labelled folder is built from the bundled example (RAVDESS actor 18 in seven emotions, cut at
the times examples/ravdess_actor18.csv gives), so the tests need nothing from ../shared. Four
"speakers" are the same voice resampled (a little lower and slower, higher and faster, and with
noise): enough for a speaker-disjoint validation split and a real run of the command.
"""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from sentimentogram_cli.emotion.head import EmotionHead
from sentimentogram_cli.errors import InputError
from sentimentogram_cli.training.finetune import adapted_labels, label_ua, speaker_split

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
VOICES = {"spk-a": 1.0, "spk-b": 0.92, "spk-c": 1.08, "spk-d": 1.0}


def _voice(audio: np.ndarray, rate: float, noise: float, seed: int) -> np.ndarray:
    """The clip resampled by ``rate`` (pitch and tempo together), with white noise."""
    n = int(len(audio) / rate)
    out = np.interp(np.arange(n) * rate, np.arange(len(audio)), audio).astype(np.float32)
    return out + noise * np.random.default_rng(seed).standard_normal(n).astype(np.float32)


def build_folder(root: Path, labels: dict[str, str], with_text: bool = True) -> Path:
    """A clip folder and its labels.csv: each example segment whose emotion is a key of ``labels``,
    under that value as its label, once per voice."""
    import soundfile as sf

    from sentimentogram_cli.media import decode_audio

    audio = decode_audio(EXAMPLES / "ravdess_actor18.mp4")
    with (EXAMPLES / "ravdess_actor18.csv").open(newline="") as f:
        segments = [row for row in csv.DictReader(f) if row["emotion"] in labels]
    rows = []
    for v, (speaker, rate) in enumerate(VOICES.items()):
        (root / speaker).mkdir(parents=True)
        for s, seg in enumerate(segments):
            clip = audio[int(float(seg["start"]) * 16000): int(float(seg["end"]) * 16000)]
            path = f"{speaker}/{seg['emotion']}.wav"
            sf.write(root / path, _voice(clip, rate, 0.004 if speaker == "spk-d" else 0.0, v * 10 + s), 16000)
            rows.append({"path": path, "label": labels[seg["emotion"]], "speaker": speaker,
                         **({"text": seg["text"]} if with_text else {})})
    with (root / "labels.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root / "labels.csv"


# ---- the split and the label list: no model needed --------------------------------------------

def test_speaker_split_is_speaker_disjoint_and_deterministic():
    speakers = [f"s{k % 7}" for k in range(70)]
    train, validation = speaker_split(speakers, 0.3, seed=3)
    assert sorted(train + validation) == list(range(70))
    assert {speakers[i] for i in train}.isdisjoint({speakers[i] for i in validation})
    assert len({speakers[i] for i in validation}) == 2  # 30% of 7 speakers, rounded
    assert speaker_split(speakers, 0.3, seed=3) == (train, validation)
    # Never every speaker, always at least one.
    for share in (0.0, 0.99):
        train, validation = speaker_split(["a", "a", "b"], share)
        assert train and validation


def test_one_speaker_is_refused():
    with pytest.raises(InputError, match="at least two speakers"):
        speaker_split(["a", "a", "a"], 0.2)
    with pytest.raises(InputError):
        speaker_split(["", ""], 0.2)  # no speaker column


def _uneven(sizes, labels=("neutral", "happy", "sad", "angry")):
    from sentimentogram_cli.training.corpora import Clip

    return [Clip(Path(f"{s}-{k}.wav"), labels[k % len(labels)], "user", f"spk{s}", "ur", "")
            for s, n in enumerate(sizes) for k in range(n)]


def test_validation_folds_hold_a_share_of_the_clips_by_whole_speakers():
    from sentimentogram_cli.training.finetune_select import clip_folds

    clips = _uneven([48, 20, 9, 5, 3, 2, 2, 1])  # 90 clips, 8 speakers: the Urdu folder
    folds, how = clip_folds(clips, range(len(clips)), 0.2, seed=0)
    assert how == "speakers" and len(folds) == 5
    assert sorted(i for f in folds for i in f) == list(range(90))
    speakers = [{clips[i].speaker for i in f} for f in folds]
    assert all(a.isdisjoint(b) for k, a in enumerate(speakers) for b in speakers[k + 1:])
    # Biggest speaker first, each into the emptiest fold: 48 | 20 | 9 | 5+2 | 3+2+1.
    assert sorted(len(f) for f in folds) == [6, 7, 9, 20, 48]
    assert clip_folds(clips, range(len(clips)), 0.2, seed=0) == (folds, how)


def test_one_speaker_is_validated_on_held_out_clips_of_every_label():
    from sentimentogram_cli.training.finetune_select import clip_folds

    clips = _uneven([40])
    folds, how = clip_folds(clips, range(40), 0.2)
    assert how == "clips" and [len(f) for f in folds] == [8] * 5
    assert all({clips[i].label for i in f} == {"neutral", "happy", "sad", "angry"} for f in folds)
    with pytest.raises(InputError, match="at least 4 labelled clips"):
        clip_folds(clips, range(3), 0.2)


def test_adapted_labels_keep_every_label_of_the_head_then_new_ones():
    head = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
    assert adapted_labels(head, ["sad", "neutral", "sad"]) == head  # the labels not labelled stay
    assert adapted_labels(head, ["zest", "angry", "awe"]) == head + ("awe", "zest")


def test_label_ua_counts_a_label_the_model_lacks_as_missed():
    logits = np.array([[3.0, 1.0], [0.0, 2.0], [1.0, 0.0]])
    result = label_ua(logits, ("neutral", "sad"), ["neutral", "sad", "awe"], allowed=("neutral", "sad", "awe"))
    assert result["ua"] == pytest.approx(2 / 3)
    assert result["labels"] == ["awe", "neutral", "sad"]


# ---- bad input: one line, its own exit code, before any model loads -----------------------------

def test_bad_csvs_get_one_line_errors(tmp_path, run_cli):
    code, output = run_cli(["train", "--finetune", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "h.safetensors")])
    assert code == 3 and "no such file" in output and len(output.strip().splitlines()) == 1

    (tmp_path / "a.wav").write_bytes(b"")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label,speeker\na.wav,sad,x\n")
    code, output = run_cli(["train", "--finetune", str(bad), "--out", str(tmp_path / "h.safetensors")])
    assert code == 3 and "unknown column 'speeker'" in output and len(output.strip().splitlines()) == 1

    bad.write_text("file,emotion\na.wav,sad\n")
    code, output = run_cli(["train", "--finetune", str(bad), "--out", str(tmp_path / "h.safetensors")])
    assert code == 3 and "no path or label column" in output

    bad.write_text("path,label,speaker\na.wav,sad,x\na.wav,happy,x\n")
    code, output = run_cli(["train", "--finetune", str(bad), "--out", str(tmp_path / "h.safetensors")])
    assert code == 3 and "at least 4 labelled clips" in output and len(output.strip().splitlines()) == 1

    bad.write_text("path,label,speaker\nmissing.wav,sad,x\n")
    code, output = run_cli(["train", "--finetune", str(bad), "--out", str(tmp_path / "h.safetensors")])
    assert code == 3 and "missing" in output
    assert not list(tmp_path.glob("h.safetensors*"))


# ---- real runs: encoders and head on the example's clips --------------------------------------

@pytest.mark.slow
def test_finetune_on_a_label_subset(tmp_path, run_cli):
    labels_csv = build_folder(tmp_path / "clips", {e: e for e in ("neutral", "happy", "sad", "angry")})
    out = tmp_path / "my_head.safetensors"
    code, output = run_cli(["train", "--finetune", str(labels_csv), "--out", str(out), "--cache",
                            str(tmp_path / "cache"), "--epochs", "4"])
    assert code == 0, output
    assert "before" in output and "after" in output and "wrote" in output
    assert "none of your clips: fear, disgust, surprise" in " ".join(output.split())
    head = EmotionHead.load(out)
    shipped = EmotionHead.load()
    assert head.labels == shipped.labels  # every label of the shipped head, those not labelled included
    # The rows of the labels no clip has keep the shipped head's weights.
    for label in ("fear", "disgust", "surprise"):
        row, start = head.labels.index(label), shipped.labels.index(label)
        assert torch.equal(head.model.classifier[4].weight[row], shipped.model.classifier[4].weight[start])
    extra = head.metadata.extra
    # Four speakers of 4 clips: cross-validated over 4 folds of one speaker each, then one refit.
    assert [len(f) for f in extra["validation_folds"]] == [1, 1, 1, 1]
    curve = extra["finetune"]["validation_ua_by_epoch"]  # pooled over the folds; the best after one epoch or more
    assert extra["validation_ua_after"] == pytest.approx(max(curve[1:]), abs=1e-4)
    assert 1 <= extra["finetune"]["epochs_chosen"] == extra["finetune"]["epochs_trained"] <= 4
    assert head.metadata.temperature == EmotionHead.load().metadata.temperature  # never fitted on a handful
    assert head.metadata.audio_layers == EmotionHead.load().metadata.audio_layers
    assert not list(tmp_path.glob(".my_head*"))  # no temporary file left


@pytest.mark.slow
def test_finetune_learns_a_new_label_and_render_uses_it(tmp_path, run_cli):
    labels = {"neutral": "neutral", "angry": "angry", "surprise": "excited", "happy": "excited"}
    labels_csv = build_folder(tmp_path / "clips", labels, with_text=False)
    out = tmp_path / "my_head.safetensors"
    code, output = run_cli(["train", "--finetune", str(labels_csv), "--out", str(out), "--cache",
                            str(tmp_path / "cache"), "--epochs", "3", "--seed", "1"])
    assert code == 0, output
    assert "new: excited" in " ".join(output.split())
    head = EmotionHead.load(out)
    assert head.labels == EmotionHead.load().labels + ("excited",)

    code, output = run_cli(["render", str(EXAMPLES / "jfk.flac"), "--head", str(out), "--asr-model", "tiny.en",
                            "--out", str(tmp_path / "jfk.html"), "--json", "--no-cache"])
    assert code == 0, output
    import json

    analysis = json.loads((tmp_path / "jfk.json").read_text())
    assert analysis["labels"] == list(head.labels)
    word = analysis["lines"][0]["words"][0]["emotion"]
    assert set(word["probabilities"]) == set(head.labels)


# ---- the leave-one-corpus-out comparison's bookkeeping -----------------------------------------

def test_adaptation_speakers_are_nested_and_leave_test_speakers():
    from research.adaptation_report import SHARES, adaptation_speakers

    speakers = [f"s{k}" for k in range(20)]
    chosen = [adaptation_speakers(speakers, share, draw=0) for share in SHARES]
    assert [len(c) for c in chosen] == [1, 2, 4, 10]
    assert all(set(a) <= set(b) for a, b in zip(chosen, chosen[1:]))
    assert len(adaptation_speakers(["a", "b"], 0.5, 0)) == 1  # never every speaker: one is left to test on
    assert adaptation_speakers(speakers, 0.2, 1) != chosen[2]  # another draw, other speakers


def test_summary_averages_draws_then_corpora_and_needs_every_corpus():
    from research.adaptation_report import ZERO_SHOT, markdown_table, summary

    method = "fine-tune all layers"
    runs = {"a/0.20/0": {ZERO_SHOT: 0.4, method: {"ua": 0.6}}, "a/0.20/1": {ZERO_SHOT: 0.5, method: {"ua": 0.8}},
            "b/0.20/0": {ZERO_SHOT: 0.3, method: {"ua": 0.5}}}
    table = summary({"runs": runs}, shares=(0.2,), corpora=("a", "b"))
    assert table[ZERO_SHOT]["0.20"] == pytest.approx((0.45 + 0.3) / 2)
    assert table[method]["0.20"] == pytest.approx((0.7 + 0.5) / 2)
    assert summary({"runs": runs}, shares=(0.2,), corpora=("a", "b", "c"))[method]["0.20"] is None
    text = markdown_table({"runs": runs}, shares=(0.2,), corpora=("a", "b"))
    assert "| fine-tune all layers | 60.0% |" in text


# ---- choosing the epochs: folds in step, predictions pooled (a small random head, no encoder) ---

def _separable_folder(sizes, dim=512, seed=0):
    """Clips of uneven speakers whose frames carry their label (a direction per label) under noise."""
    from sentimentogram_cli.training.data import TrainingData
    from sentimentogram_cli.training.feature_cache import RaggedArrays

    rng = np.random.default_rng(seed)
    labels = ("neutral", "happy", "sad", "angry")
    directions = rng.standard_normal((len(labels), dim)).astype(np.float32)
    clips = _uneven(sizes)
    frames = [(rng.standard_normal((20, dim)) + 0.8 * directions[labels.index(c.label)]).astype(np.float16)
              for c in clips]
    return TrainingData(clips, RaggedArrays.from_list(frames), [], {}, "whisper-base", "none", frame_layers=(6,))


def test_pooled_ua_weighs_every_held_out_clip_alike():
    from sentimentogram_cli.training.finetune_select import pooled_ua

    # A fold of 3 clips (2 right) and a fold of 1 (wrong): per-fold mean UA would be 1/3 + 0 ... the
    # pooled UA is the mean recall over the labels of all four clips.
    truth = ["sad", "sad", "happy", "angry"]
    predicted = ["sad", "happy", "happy", "excited"]  # "excited": a label only one fold's head had
    assert pooled_ua(truth, predicted) == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert pooled_ua(["sad"], ["sad"]) == 1.0


def test_the_loop_as_a_generator_is_the_loop_finetune_head_runs(tmp_path, small_head):
    from sentimentogram_cli.training.finetune import FinetuneSettings, finetune_epochs, finetune_head

    head = small_head(tmp_path / "h.safetensors")
    data = _separable_folder([6, 4, 2])
    train, validation = list(range(6, 12)), list(range(6))
    settings = FinetuneSettings(max_epochs=3, patience=10, min_steps_per_epoch=1, batch_size=8)
    result = finetune_head(head, data, train, validation, settings)
    run = finetune_epochs(head, data, train, validation, settings)
    stepped = [next(run).validation_ua for _ in range(4)]
    run.close()
    assert [h["validation_ua"] for h in result.history] == pytest.approx(stepped)
    assert result.epochs == 3 and result.best_epoch == int(np.argmax(stepped))


def test_folds_train_in_step_and_stop_once_the_pooled_ua_stops_rising(tmp_path, small_head):
    from sentimentogram_cli.training.finetune import FinetuneSettings
    from sentimentogram_cli.training.finetune_select import finetune_selected

    head = small_head(tmp_path / "h.safetensors")
    data = _separable_folder([8, 4, 3, 2, 1])  # five speakers, five folds of whole speakers
    settings = FinetuneSettings(max_epochs=8, patience=2, min_steps_per_epoch=1, batch_size=8)
    chosen = finetune_selected(head, data, list(range(18)), settings, use_text=False)
    assert chosen.split == "speakers" and sorted(len(f) for f in chosen.folds) == [1, 2, 3, 4, 8]
    assert len(chosen.curve) == len(chosen.fold_curves[0]) <= settings.max_epochs + 1
    assert chosen.curve[chosen.epochs] == max(chosen.curve) > chosen.curve[0]  # separable: training helps
    assert all(x < chosen.curve[chosen.epochs] for x in chosen.curve[: chosen.epochs])  # the first best
    if len(chosen.curve) < settings.max_epochs + 1:  # stopped early: patience epochs without a better one
        assert len(chosen.curve) - 1 - chosen.epochs == settings.patience
    extra = chosen.head.metadata.extra["finetune"]
    assert extra["epochs_trained"] == chosen.epochs and extra["validation_pooled"]
    assert chosen.head.metadata.temperature == head.metadata.temperature


def test_self_training_takes_the_surest_share_of_each_label_of_the_unlabelled_clips(tmp_path, small_head):
    from sentimentogram_cli.training.finetune import FinetuneSettings
    from sentimentogram_cli.training.finetune_select import finetune_selected

    head = small_head(tmp_path / "h.safetensors")
    data = _separable_folder([8, 4, 3, 2, 1, 12, 12])  # five labelled speakers, two the user did not label
    labelled, unlabelled = list(range(18)), list(range(18, 42))
    settings = FinetuneSettings(max_epochs=4, patience=2, min_steps_per_epoch=1, batch_size=8, pseudo_labels=0.5)
    before = [c.label for c in data.clips]
    chosen = finetune_selected(head, data, labelled, settings, use_text=False, unlabelled=unlabelled)
    assert set(chosen.pseudo) <= set(unlabelled) and 8 <= len(chosen.pseudo) <= 16  # about half, per label
    right = np.mean([data.clips[i].label == label for i, label in chosen.pseudo.items()])
    assert right >= 0.8  # separable clips: the surest are right
    assert chosen.head.metadata.extra["finetune"]["pseudo_labelled_clips"] == len(chosen.pseudo)
    assert [c.label for c in data.clips] == before  # relabelled in a copy, not in the caller's data
    without = finetune_selected(head, data, labelled, settings.variant(pseudo_labels=0.0), use_text=False,
                                unlabelled=unlabelled)
    assert without.pseudo == {} and without.epochs == chosen.epochs  # the same folds choose the same epochs


def test_a_label_the_clips_lack_stays_in_the_head_and_is_still_predicted(tmp_path, small_head):
    from sentimentogram_cli.training.finetune import (FinetuneSettings, clip_views, finetune_head, label_ua,
                                                      predict_logits)

    data = _separable_folder([12, 12, 12, 12])
    angry = [i for i, c in enumerate(data.clips) if c.label == "angry"]
    others = [i for i, c in enumerate(data.clips) if c.label != "angry"]
    settings = FinetuneSettings(min_steps_per_epoch=4, batch_size=8, epochs_without_validation=6)
    # A head that knows the four labels, then a user whose clips have every label but angry.
    start = finetune_head(small_head(tmp_path / "h.safetensors"), data, others + angry, [], settings).head
    adapted = finetune_head(start, data, others, [], settings.variant(seed=1)).head
    assert adapted.labels == start.labels
    row = start.labels.index("angry")
    assert np.array_equal(adapted.model.classifier[4].weight[row].numpy(), start.model.classifier[4].weight[row].numpy())
    assert not np.array_equal(adapted.model.classifier[4].weight[0].numpy(), start.model.classifier[4].weight[0].numpy())
    four = ("neutral", "happy", "sad", "angry")
    logits = predict_logits(adapted.model, clip_views(adapted, data, angry))
    assert label_ua(logits, adapted.labels, ["angry"] * len(angry), allowed=four)["ua"] >= 0.9
    probabilities = torch.softmax(torch.from_numpy(logits), dim=1)[:, row]
    assert float(probabilities.mean()) > 1 / len(adapted.labels)  # not pushed towards zero


def test_the_head_kept_is_half_way_between_the_start_and_the_fine_tuned_weights(tmp_path, small_head):
    from dataclasses import replace

    from sentimentogram_cli.training.finetune import FinetuneSettings, finetune_head, relabel_head

    head = small_head(tmp_path / "h.safetensors")
    data = _separable_folder([6, 6])
    data.clips = [replace(c, label="excited") if c.label == "angry" else c for c in data.clips]  # a new label
    settings = FinetuneSettings(min_steps_per_epoch=2, batch_size=8, epochs_without_validation=2)
    tuned = finetune_head(head, data, list(range(12)), [], settings.variant(interpolation=1.0)).head
    kept = finetune_head(head, data, list(range(12)), [], settings).head  # the default: half-way
    assert settings.interpolation == 0.5 and kept.labels == tuned.labels == head.labels + ("excited",)
    start = relabel_head(head, kept.labels).state_dict()
    tuned_state, kept_state = tuned.model.state_dict(), kept.model.state_dict()
    new = kept.labels.index("excited")
    for key, value in kept_state.items():
        if not value.is_floating_point():
            continue
        expected = (start[key] + tuned_state[key]) / 2
        if key.startswith("classifier.4."):  # a new label's row has no starting weights: kept as tuned
            expected[new] = tuned_state[key][new]
        assert torch.allclose(value, expected, atol=1e-6), key
    assert not torch.allclose(tuned_state["classifier.4.weight"], start["classifier.4.weight"])


def test_at_least_one_epoch_even_when_the_folds_prefer_the_starting_head(tmp_path, small_head, monkeypatch):
    from sentimentogram_cli.training import finetune_select
    from sentimentogram_cli.training.finetune import FinetuneSettings

    falling = iter([0.9, 0.5, 0.6, 0.4, 0.3, 0.2, 0.1])  # the pooled UA after 0, 1, 2, ... epochs
    monkeypatch.setattr(finetune_select, "pooled_ua", lambda truth, predicted: next(falling))
    head = small_head(tmp_path / "h.safetensors")
    data = _separable_folder([4, 3, 1])
    settings = FinetuneSettings(max_epochs=6, patience=3, min_steps_per_epoch=1, batch_size=8)
    chosen = finetune_select.finetune_selected(head, data, list(range(8)), settings, use_text=False)
    assert chosen.curve == [0.9, 0.5, 0.6, 0.4]  # three epochs without beating epoch 0: stopped
    assert chosen.epochs == 2 and chosen.head.metadata.extra["finetune"]["epochs_trained"] == 2
