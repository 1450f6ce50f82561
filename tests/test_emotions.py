"""The recognition stage with the real encoders on real RAVDESS speech and a small random head.

The head is randomly initialised (its predictions mean nothing): these tests check the code path
(shapes, masking, aggregation), not accuracy, which `sentimentogram evaluate` measures.
"""


import numpy as np
import pytest

from sentimentogram_cli.document import Segment, Word
from sentimentogram_cli.constants import EMOTIONS, HEAD_FRAMES_PER_SECOND, SAMPLE_RATE
from conftest import SHARED_DATA  # the project's data folder, in one place

RAVDESS = SHARED_DATA / "emotional_speech/ravdess/Actor_01"
CLIPS = ["03-01-05-01-01-01-01.opus", "03-01-03-01-02-01-01.opus"]  # angry "Kids…", happy "Dogs…"

pytestmark = pytest.mark.skipif(not all((RAVDESS / c).is_file() for c in CLIPS),
                                reason=f"RAVDESS clips not found under {RAVDESS}")


@pytest.fixture(scope="module")
def encoders():
    from sentimentogram_cli.emotion.features import AudioEncoder, TextEncoder

    return AudioEncoder("base", "cpu", layers=(6,)), TextEncoder("cpu")


@pytest.fixture(scope="module")
def head(tmp_path_factory, small_head):
    return small_head(tmp_path_factory.mktemp("head") / "head.safetensors")


@pytest.fixture(scope="module")
def recording():
    """Two real utterances with 5 s of silence between them, and hand-timed words for each."""
    from sentimentogram_cli.media import decode_audio

    first, second = (decode_audio(RAVDESS / c) for c in CLIPS)
    gap = np.zeros(5 * SAMPLE_RATE, np.float32)
    audio = np.concatenate([first, gap, second])
    t2 = (len(first) + len(gap)) / SAMPLE_RATE

    def segment(offset, texts):
        words = [Word(f" {t}", round(offset + 1.0 + 0.3 * i, 3), round(offset + 1.25 + 0.3 * i, 3), 0.9)
                 for i, t in enumerate(texts)]
        return Segment(words[0].start, words[-1].end, " ".join(texts), words)

    return audio, [segment(0.0, "Kids are talking by the door".split()),
                   segment(t2, "Dogs are sitting by the door".split())]


@pytest.mark.slow  # runs the real encoders / Whisper
def test_windows_get_their_own_frames_and_text(recording, head, encoders, monkeypatch):
    """What ``recognise`` gives the head for each window: its text (None without words) and its
    own normalised frames; a window without words gets text gate 0."""
    from sentimentogram_cli.emotion.recognise import recognise

    audio, segments = recording
    calls = []
    predict = head.predict

    def spy(text_tokens, audio_frames):
        predictions = predict(text_tokens, audio_frames)
        calls.append((text_tokens, audio_frames, predictions))
        return predictions

    monkeypatch.setattr(head, "predict", spy)
    recognise(audio, segments, head, *encoders, window=3.0, hop=1.0, design="global")
    tokens = [t for c in calls for t in c[0]]
    frames = [f for c in calls for f in c[1]]
    gates = np.concatenate([c[2].gates for c in calls])
    assert len(tokens) == len(frames) == len(gates) > 5
    for window_frames in frames:
        assert window_frames.dtype == np.float32 and window_frames.shape[1] == 512
        assert abs(len(window_frames) - 3.0 * HEAD_FRAMES_PER_SECOND) <= 1
    for t in tokens:
        assert t is None or (t.ndim == 2 and t.shape[1] == 384)
    no_text = np.array([t is None for t in tokens])
    assert no_text.any() and not no_text.all()  # the silence between the utterances has no words
    assert np.all(gates[no_text, 0] == 0)  # missing text → text gate 0
    assert np.all(gates[no_text, 1] == pytest.approx(1.0))
    assert np.all(gates[~no_text, 0] > 0)
    assert calls[0][2].probabilities.shape == (len(calls[0][0]), len(EMOTIONS))
    assert calls[0][2].vad.shape == (len(calls[0][0]), 3)


@pytest.mark.slow  # runs the real encoders / Whisper
def test_utterance_windows_hold_one_utterance_each(recording, head, encoders, monkeypatch):
    """One window per short utterance (here 1.75 s each, 5 s apart), with ``short="tile"`` its
    own frames repeated to the window's length, its own words only; lines record their utterance."""
    from sentimentogram_cli.emotion import recognise as module

    audio, segments = recording
    calls, layouts = [], []
    predict, layout = head.predict, module.layout_utterance_windows

    def spy(text_tokens, audio_frames):
        calls.append((text_tokens, audio_frames))
        return predict(text_tokens, audio_frames)

    monkeypatch.setattr(head, "predict", spy)
    monkeypatch.setattr(module, "layout_utterance_windows", lambda *a, **k: layouts.append(layout(*a, **k)) or layouts[-1])
    lines = module.recognise(audio, segments, head, *encoders, window=3.0, hop=1.0, short="tile")
    windows = layouts[0]
    assert [w.utterance for w in windows] == [0, 1]
    for win, segment in zip(windows, segments):
        assert (win.start, win.end) == (segment.words[0].start, segment.words[-1].end)
    frames = [f for c in calls for f in c[1]]
    assert [len(f) for f in frames] == [int(3.0 * HEAD_FRAMES_PER_SECOND)] * 2
    own = len(frames[0]) // 2  # the first 1.75 s, then the same frames again
    n = int(round((windows[0].end - windows[0].start) * HEAD_FRAMES_PER_SECOND))
    assert np.array_equal(frames[0][n: n + 5], frames[0][:5]) and own > 0
    tokens = [t for c in calls for t in c[0]]
    assert all(t is not None for t in tokens)
    assert [line.utterance for line in lines] == [0, 1]


@pytest.mark.slow  # runs the real encoders / Whisper
def test_a_segment_across_a_pause_becomes_two_lines(recording, head, encoders):
    from sentimentogram_cli.emotion.recognise import recognise

    audio, segments = recording
    joined = Segment(segments[0].start, segments[1].end, "both", segments[0].words + segments[1].words)
    lines = recognise(audio, [joined], head, *encoders)
    assert [line.utterance for line in lines] == [0, 1]
    assert [len(line.words) for line in lines] == [len(segments[0].words), len(segments[1].words)]
    assert lines[0].end < lines[1].start


@pytest.mark.slow  # runs the real encoders / Whisper
def test_words_the_text_encoder_cannot_read_leave_the_audio_to_decide(recording, head, encoders):
    """MiniLM reads English only: for a Polish transcript the text branch is masked, gate 0."""
    from sentimentogram_cli.emotion.recognise import recognise

    audio, segments = recording
    for language, text_used in (("pl", False), ("en", True), (None, True)):
        lines = recognise(audio, segments, head, *encoders, language=language)
        gates = [w.emotion.text_gate for line in lines for w in line.words]
        assert all(g > 0 for g in gates) if text_used else all(g == 0 for g in gates), language


@pytest.mark.slow  # runs the real encoders / Whisper
def test_recognise_fills_every_word(recording, head, encoders):
    from sentimentogram_cli.emotion.recognise import recognise

    audio, segments = recording
    seen = []
    lines = recognise(audio, segments, head, *encoders, progress=seen.append)
    assert len(lines) == len(segments)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    for line, segment in zip(lines, segments):
        assert [w.text for w in line.words] == [w.text for w in segment.words]
        assert (line.start, line.end) == (segment.start, segment.end)
        for word in line.words:
            e = word.emotion
            assert e.emotion in EMOTIONS
            assert list(e.probabilities) == list(EMOTIONS)
            assert sum(e.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
            assert e.confidence == max(e.probabilities.values())
            assert all(0 <= x <= 1 for x in (e.valence, e.arousal, e.dominance))
            assert e.text_gate + e.audio_gate == pytest.approx(1.0, abs=1e-3)
            assert 0 < e.text_gate < 1  # every word is in a window with words and audio


def test_recognise_without_words_runs_no_model(recording, head):
    from sentimentogram_cli.emotion.recognise import recognise

    audio, _ = recording
    # No encoder is touched (None would fail if one were): nothing to classify.
    assert recognise(audio, [], head, None, None) == []
    assert recognise(audio, [Segment(0.0, 1.0, "", [])], head, None, None) == []


class _Meta:
    def __init__(self, weight, seconds):
        self.recording_mean_weight, self.recording_mean_seconds = weight, seconds


class _Stats:
    def __init__(self, weight=1.0, seconds=0.0, dim=2):
        self.metadata = _Meta(weight, seconds)
        self.audio_mean = np.zeros(dim, np.float32)


def test_the_recording_mean_weight_shrinks_with_the_amount_of_audio():
    from sentimentogram_cli.emotion.recognise import recording_weight

    assert recording_weight(_Stats(0.5, 0.0), 3.0) == 0.5  # k = 0: the older heads' fixed weight
    assert recording_weight(_Stats(1.0, 20.0), 5.0) == pytest.approx(0.2)
    assert recording_weight(_Stats(1.0, 20.0), 300.0) == pytest.approx(300 / 320)


def test_each_speaker_is_centred_on_the_frames_of_their_own_words():
    from sentimentogram_cli.emotion.recognise import _speaker_centres, _window_speaker, recording_centre
    from sentimentogram_cli.emotion.windows import Window, word_spans

    frames = np.zeros((100, 2), np.float16)  # 4 s at 25 frames/s
    frames[0:25] = 1.0  # speaker A talks in the first second
    frames[50:75] = 5.0  # speaker B in the third
    words = [Word(" a", 0.0, 0.5, 1.0), Word(" b", 0.5, 1.0, 1.0), Word(" c", 2.0, 3.0, 1.0)]
    spans = word_spans(words)
    centres = _speaker_centres(frames, spans, ["A", "A", "B"], _Stats(1.0, 0.0))
    np.testing.assert_allclose(centres["A"], [1.0, 1.0])
    np.testing.assert_allclose(centres["B"], [5.0, 5.0])
    np.testing.assert_allclose(recording_centre(frames, _Stats(1.0, 0.0)), [1.5, 1.5])
    # k = 1 s: each speaker's one second of speech keeps half of the global centre (0).
    np.testing.assert_allclose(_speaker_centres(frames, spans, ["A", "A", "B"], _Stats(1.0, 1.0))["B"], [2.5, 2.5])
    assert _window_speaker(Window(0.0, 3.0, [0, 1, 2]), spans, ["A", "A", "B"]) == "A"
    assert _window_speaker(Window(0.0, 3.0, [0, 1, 2]), spans, [None, None, None]) is None


@pytest.mark.slow  # runs the real encoders / Whisper
def test_speaker_ids_recentre_the_audio_of_their_own_words(recording, head, encoders):
    from sentimentogram_cli.emotion.recognise import recognise

    audio, segments = recording
    n = sum(len(s.words) for s in segments)
    ids = ["A"] * len(segments[0].words) + ["B"] * (n - len(segments[0].words))

    def probabilities(**kwargs):
        lines = recognise(audio, segments, head, *encoders, language="pl", **kwargs)
        return np.array([list(w.emotion.probabilities.values()) for line in lines for w in line.words])

    weight = head.metadata.recording_mean_weight
    try:
        head.metadata.recording_mean_weight = 0.0  # global statistics only: speakers change nothing
        np.testing.assert_array_equal(probabilities(speakers=ids), probabilities())
        head.metadata.recording_mean_weight = 1.0
        np.testing.assert_array_equal(probabilities(speakers=[None] * n), probabilities())
        assert not np.allclose(probabilities(speakers=ids), probabilities())
    finally:
        head.metadata.recording_mean_weight = weight
    with pytest.raises(ValueError, match="speaker ids"):
        recognise(audio, segments, head, *encoders, speakers=["A"])


def test_the_shipped_head_is_pinned_by_its_sha256(tmp_path, monkeypatch):
    """The default head loads only when its bytes are the pinned ones; a head given by path is the
    caller's and loads whatever its bytes."""
    import hashlib
    import shutil

    from sentimentogram_cli import assets
    from sentimentogram_cli.emotion import checkpoint
    from sentimentogram_cli.emotion import head as head_module
    from sentimentogram_cli.emotion.head import EmotionHead
    from sentimentogram_cli.errors import ModelError

    shipped = assets.head_checkpoint_path()
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == assets.HEAD_SHA256
    changed = tmp_path / "emotion_head.safetensors"
    head = EmotionHead.load(shipped)
    head.metadata.temperature = 2.0  # one changed number: other bytes
    head.save(changed)
    for module in (head_module, checkpoint):  # the default path, and the check of the shipped one
        monkeypatch.setattr(module, "head_checkpoint_path", lambda: changed)
    with pytest.raises(ModelError, match="pinned SHA-256"):
        EmotionHead.load()
    mine = tmp_path / "mine.safetensors"
    shutil.copy(changed, mine)
    assert EmotionHead.load(mine).metadata.temperature == 2.0
