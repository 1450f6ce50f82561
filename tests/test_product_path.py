"""The product path of `evaluate`: clips scored the way `render` scores them.

Unit tests build their own signals and clips; the slow tests run the shipped head, the real
encoders and Whisper on real RAVDESS clips and check that `evaluate` and `render` agree.
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.document import AnalysedWord, Line, WordEmotion
from sentimentogram_cli.training.alone import product_sample
from sentimentogram_cli.training.corpora import Clip
from sentimentogram_cli.training.product_path import clip_score, speech_extent, talk_groups, transcript_segments
from conftest import SHARED_DATA  # the project's data folder, in one place

RAVDESS = SHARED_DATA / "emotional_speech/ravdess/Actor_18"
CLIPS = ["03-01-05-02-01-01-18.opus", "03-01-04-01-02-02-18.opus"]  # angry, sad


def test_speech_extent_finds_the_loud_part():
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    audio = np.where((t >= 1.0) & (t < 2.0), np.sin(2 * np.pi * 200 * t), 1e-4 * np.sin(2 * np.pi * 50 * t))
    start, end = speech_extent(audio.astype(np.float32))
    assert start == pytest.approx(1.0, abs=0.03) and end == pytest.approx(2.0, abs=0.03)


def test_a_transcript_is_spread_over_the_speech_and_no_text_is_one_empty_word():
    (segment,) = transcript_segments("Kids are talking", 1.0, 2.5)
    assert [w.text for w in segment.words] == [" Kids", " are", " talking"]
    assert [(w.start, w.end) for w in segment.words] == [(1.0, 1.5), (1.5, 2.0), (2.0, 2.5)]
    (empty,) = transcript_segments("", 0.2, 0.9)
    assert [(w.text, w.start, w.end) for w in empty.words] == [("", 0.2, 0.9)]


def _word(start, end, probs):
    labels = ("neutral", "happy")
    e = WordEmotion(labels[int(np.argmax(probs))], max(probs), dict(zip(labels, probs)), 0.5, 0.5, 0.5,
                    text_gate=0.25, audio_gate=0.75)
    return AnalysedWord(" w", start, end, 1.0, e)


def test_a_clip_score_is_the_duration_weighted_mean_of_its_words():
    lines = [Line(0.0, 1.0, [_word(0.0, 0.75, [0.8, 0.2]), _word(0.75, 1.0, [0.0, 1.0])])]
    probs, gates = clip_score(lines, ["neutral", "happy"])
    np.testing.assert_allclose(probs, [0.6, 0.4])
    np.testing.assert_allclose(gates, [0.25, 0.75])


def _clips(n_speakers=4, per=6, corpus="c"):
    labels = ["neutral", "happy", "sad"]
    return [Clip(Path(f"{corpus}{s}_{k}.wav"), labels[k % 3], corpus, f"{corpus}-{s}", "en", "")
            for s in range(n_speakers) for k in range(per)]


def test_the_product_sample_is_balanced_and_keeps_held_speakers_apart():
    clips = _clips(4, 12, "a") + _clips(3, 12, "b")
    chosen = product_sample(clips, validation={"a-0"}, test={"b-2"}, per_corpus=6)
    assert chosen[:12] == list(range(12))  # validation speakers first
    assert chosen[-12:] == [i for i, c in enumerate(clips) if c.speaker == "b-2"]  # test speakers last
    middle = [clips[i] for i in chosen[12:-12]]
    assert len(middle) == 12 and not {c.speaker for c in middle} & {"a-0", "b-2"}
    for corpus in "ab":
        labels = [c.label for c in middle if c.corpus == corpus]
        assert sorted(labels) == sorted(["neutral", "happy", "sad"] * 2)
    assert product_sample(clips, {"a-0"}, {"b-2"}, per_corpus=6) == chosen  # seeded


def test_talks_hold_one_speaker_each_and_every_clip_once():
    clips = _clips(3, 30)
    groups = talk_groups(clips, range(len(clips)), size=24)
    assert sorted(i for g in groups for i in g) == list(range(len(clips)))
    assert all(len({clips[i].speaker for i in g}) == 1 and len(g) <= 24 for g in groups)


needs_ravdess = pytest.mark.skipif(not all((RAVDESS / c).is_file() for c in CLIPS), reason="RAVDESS not found")


@pytest.mark.slow
@needs_ravdess
def test_evaluate_and_render_give_the_same_clip_score(tmp_path):
    """The same clip through `evaluate`'s product path (Whisper's words) and through the
    Analyser that `render` runs: the same probabilities, word by word averaged into one score."""
    from sentimentogram_cli.analyser import Analyser
    from sentimentogram_cli.emotion.head import EmotionHead
    from sentimentogram_cli.training.corpora import read_clips
    from sentimentogram_cli.cli.evaluate_command import evaluate_protocols
    from rich.console import Console

    table = tmp_path / "labels.csv"
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label"])
        for c, label in zip(CLIPS, ["angry", "sad"]):
            writer.writerow([str(RAVDESS / c), label])
    clips = read_clips(table)
    head = EmotionHead.load()
    results = evaluate_protocols(head, None, clips, [0, 1], ["product"], use_text=True, asr=True,
                                 asr_model="tiny.en", device="cpu", cache_dir=tmp_path / "cache",
                                 console=Console())
    analyser = Analyser(device="cpu", asr_model="tiny.en")
    for k, clip in enumerate(clips):
        analysis = analyser.analyse(clip.path)
        rendered, _ = clip_score(analysis.lines, list(head.labels))
        np.testing.assert_allclose(results["product"]["probabilities"][k], rendered, atol=2e-4)


@pytest.mark.slow
@needs_ravdess
def test_evaluate_prints_the_product_path_first_and_packed_speaker_beside_it(tmp_path, run_cli):
    import json

    table = tmp_path / "labels.csv"
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "speaker", "text"])
        for c, label in zip(CLIPS, ["angry", "sad"]):
            writer.writerow([str(RAVDESS / c), label, "ravdess-18", "Kids are talking by the door"])
    out = tmp_path / "scores.json"
    code, text = run_cli(["evaluate", "--labels", str(table), "--protocol", "product,packed-speaker",
                          "--cache", str(tmp_path / "cache"), "--json", str(out)])
    assert code == 0, text
    assert text.index("product") < text.index("packed-speaker")
    scores = json.loads(out.read_text())
    assert [row["label"] for row in scores["clips"]] == ["angry", "sad"]
    for row in scores["clips"]:
        for protocol in ("product", "packed-speaker"):
            assert sum(row[protocol]["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert scores["summary"]["product"]["n"] == 2
