"""Window layout over the speech and the overlap-weighted way back to words (pure numpy)."""

import numpy as np
import pytest

from sentimentogram_cli.document import Word
from sentimentogram_cli.emotion.windows import (Window, aggregate_words, layout_utterance_windows, layout_windows,
                                                overlap_matrix, utterance_ids, window_text)

LABELS = ["neutral", "happy", "sad"]


def words_at(*spans):
    return [Word(text=f" w{i}", start=s, end=e, probability=0.9) for i, (s, e) in enumerate(spans)]


def bounds(windows):
    return [(w.start, w.end) for w in windows]


def test_windows_cover_the_speech_every_hop():
    words = words_at((1.0, 1.5), (2.0, 2.4), (4.0, 4.5), (6.5, 7.0))
    windows = layout_windows(words, duration=10.0, window=3.0, hop=1.0)
    # From the first word's start; the last window reaches the last word's end (7.0).
    assert bounds(windows) == [(1.0, 4.0), (2.0, 5.0), (3.0, 6.0), (4.0, 7.0)]
    assert windows[0].word_indices == [0, 1]
    assert windows[1].word_indices == [1, 2]  # w0 ends at 1.5 < 2.0; w1 starts at 2.0 and overlaps
    assert windows[2].word_indices == [2]
    assert windows[3].word_indices == [2, 3]


def test_last_window_shifted_back_inside_the_audio():
    words = words_at((0.2, 0.6), (3.5, 4.0))
    windows = layout_windows(words, duration=4.2, window=3.0, hop=1.0)
    # The speech ends at 4.0: a second window starting at 1.2 would end at 4.2, inside the audio.
    assert bounds(windows) == [(0.2, 3.2), (1.2, 4.2)]
    windows = layout_windows(words, duration=4.0, window=3.0, hop=2.5)
    assert bounds(windows) == [(0.2, 3.2), (1.0, 4.0)]  # not (2.7, 5.7): the audio ends at 4.0
    assert all(w.end - w.start == pytest.approx(3.0) for w in windows)


def test_short_speech_gets_one_centred_window():
    words = words_at((2.0, 2.4), (2.5, 3.0))
    [win] = layout_windows(words, duration=10.0, window=3.0, hop=1.0)
    assert (win.start, win.end) == (1.0, 4.0)  # centred on 2.5
    assert win.word_indices == [0, 1]


def test_short_audio_clips_the_window():
    words = words_at((0.1, 0.5), (0.6, 1.2))
    [win] = layout_windows(words, duration=1.5, window=3.0, hop=1.0)
    assert (win.start, win.end) == (0.0, 1.5)  # the whole recording, not past its end
    # Near the start of longer audio the centred window is shifted right, not cut.
    [win] = layout_windows(words_at((0.2, 0.4)), duration=8.0, window=3.0, hop=1.0)
    assert (win.start, win.end) == (0.0, 3.0)


def test_no_words_no_windows():
    assert layout_windows([], duration=5.0) == []
    assert aggregate_words([], [], LABELS, np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 2))) == []


def test_zero_length_word_still_counts():
    words = words_at((1.0, 1.0))
    [win] = layout_windows(words, duration=5.0)
    assert win.word_indices == [0]
    assert overlap_matrix(words, [win])[0, 0] > 0


@pytest.mark.parametrize("window, hop", [(0, 1), (3, 0), (3, -1), (1, 2), (float("nan"), 1)])
def test_bad_settings_refused(window, hop):
    with pytest.raises(ValueError):
        layout_windows(words_at((0, 1)), 5.0, window=window, hop=hop)


def test_window_text_joins_whisper_words():
    words = [Word(" Hello", 0.0, 0.4, 0.9), Word(" world.", 0.5, 0.9, 0.9)]
    assert window_text(words, Window(0, 3, [0, 1])) == "Hello world."
    assert window_text(words, Window(5, 8, [])) is None


def test_word_under_two_windows_gets_the_overlap_weighted_mean():
    # The word runs 2.5–4.0: 1.0 s inside window A (1–3.5), 1.5 s inside window B (2.5–5.5).
    words = words_at((2.5, 4.0))
    windows = [Window(1.0, 4.0 - 0.5, [0]), Window(2.5, 5.5, [0])]
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.2, 0.7]])
    vad = np.array([[0.2, 0.4, 0.6], [0.7, 0.9, 0.1]])
    gates = np.array([[0.3, 0.7], [0.8, 0.2]])  # [text, audio]
    [e] = aggregate_words(words, windows, LABELS, probabilities, vad, gates)

    w = np.array([1.0, 1.5]) / 2.5
    expected = w @ probabilities
    assert [e.probabilities[k] for k in LABELS] == pytest.approx(expected, abs=1e-4)
    assert e.emotion == "sad" and e.confidence == pytest.approx(expected[2], abs=1e-4)
    assert (e.valence, e.arousal, e.dominance) == pytest.approx(tuple(w @ vad), abs=1e-4)
    assert (e.text_gate, e.audio_gate) == pytest.approx(tuple(w @ gates), abs=1e-4)
    assert e.text_gate + e.audio_gate == pytest.approx(1.0, abs=1e-3)
    assert sum(e.probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_each_word_takes_only_its_own_windows():
    words = words_at((0.0, 0.5), (5.0, 5.5))
    windows = layout_windows(words, duration=6.0, window=3.0, hop=1.0)
    n = len(windows)
    probabilities = np.tile([0.1, 0.1, 0.8], (n, 1))
    probabilities[0] = [0.9, 0.05, 0.05]  # only the first window holds word 0
    emotions = aggregate_words(words, windows, LABELS, probabilities, np.full((n, 3), 0.5),
                               np.tile([0.5, 0.5], (n, 1)))
    assert [e.emotion for e in emotions] == ["neutral", "sad"]
    assert emotions[0].confidence == pytest.approx(0.9)


def test_shape_mismatch_is_an_error():
    words = words_at((0, 1))
    windows = layout_windows(words, 5.0)
    with pytest.raises(ValueError, match="probabilities"):
        aggregate_words(words, windows, LABELS, np.zeros((len(windows), 2)), np.zeros((len(windows), 3)),
                        np.zeros((len(windows), 2)))


# ---- utterances: windows never cross a pause -------------------------------------------------

def test_utterances_split_at_pauses_of_the_threshold():
    words = words_at((0.0, 0.4), (0.5, 0.9), (1.2, 1.5), (1.79, 2.0), (5.0, 5.2))
    assert utterance_ids(words, 0.3) == [0, 0, 1, 1, 2]  # 0.3 s pause splits, 0.29 s does not
    assert utterance_ids(words, 1.0) == [0, 0, 0, 0, 1]
    # given out of order, each word still gets its own utterance
    assert utterance_ids(words[::-1], 0.3) == [2, 1, 1, 0, 0]
    with pytest.raises(ValueError):
        utterance_ids(words, 0.0)


def test_a_word_that_overlaps_the_next_keeps_them_together():
    words = words_at((0.0, 2.0), (0.5, 0.8), (1.9, 2.2))
    assert utterance_ids(words, 0.3) == [0, 0, 0]


def test_no_window_spans_two_utterances():
    # a short utterance, a long one (7 s), a short one, with 0.4 s pauses
    words = words_at((0.0, 0.5), (0.5, 1.2), (1.6, 3.0), (3.0, 5.0), (5.0, 8.6), (9.0, 9.5))
    ids = utterance_ids(words, 0.3)
    assert ids == [0, 0, 1, 1, 1, 2]
    windows = layout_utterance_windows(words, ids, 10.0, window=3.0, hop=1.0, short="tile")
    spans = {u: (min(w.start for w, i in zip(words, ids) if i == u), max(w.end for w, i in zip(words, ids) if i == u))
             for u in set(ids)}
    for win in windows:
        a, b = spans[win.utterance]
        assert a - 1e-9 <= win.start and win.end <= b + 1e-9  # inside its own utterance
        assert all(ids[i] == win.utterance for i in win.word_indices)
    short = [w for w in windows if w.utterance == 0]
    assert bounds(short) == [(0.0, 1.2)]  # one window exactly over a short utterance
    long = [w for w in windows if w.utterance == 1]
    assert [round(w.end - w.start, 6) for w in long] == [3.0] * len(long)
    assert long[0].start == 1.6 and long[-1].end == 8.6  # windowed within itself, end to end
    assert all(b.start - a.start <= 1.0 + 1e-9 for a, b in zip(long, long[1:]))


def test_a_short_utterance_window_reaches_into_its_own_pauses_only():
    # utterances 0.0-1.2, 1.6-8.6 (long), 9.0-9.5: pauses of 0.4 s around the long one
    words = words_at((0.0, 0.5), (0.5, 1.2), (1.6, 3.0), (3.0, 5.0), (5.0, 8.6), (9.0, 9.5), (12.0, 12.5))
    ids = utterance_ids(words, 0.3)
    windows = layout_utterance_windows(words, ids, 13.0, window=3.0, hop=1.0)
    by_u = {u: [(w.start, w.end) for w in windows if w.utterance == u] for u in set(ids)}
    assert by_u[0] == [(0.0, pytest.approx(1.4))]  # from the start of the audio to the pause's middle
    assert by_u[2] == [(pytest.approx(8.8), pytest.approx(10.75))]  # half the 0.4 s pause, up to 3 s long
    assert by_u[3] == [(pytest.approx(10.75), pytest.approx(13.0))]  # the audio's end bounds it
    with pytest.raises(ValueError, match="short-utterance"):
        layout_utterance_windows(words, ids, 13.0, short="loop")


def test_words_take_emotion_only_from_their_own_utterance():
    # Two utterances 0.4 s apart; a whole-speech window would cover both.
    words = words_at((0.0, 1.0), (1.0, 1.8), (2.2, 3.0))
    ids = utterance_ids(words, 0.3)
    windows = layout_utterance_windows(words, ids, 4.0)
    assert [w.utterance for w in windows] == [0, 1]
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    wide = windows + [Window(0.0, 3.0, [0, 1, 2], utterance=None)]  # a window of neither
    wide_p = np.vstack([probabilities, [[0.1, 0.8, 0.1]]])
    emotions = aggregate_words(words, wide, LABELS, wide_p, np.full((3, 3), 0.5), np.tile([0.5, 0.5], (3, 1)),
                               utterances=ids)
    assert [e.emotion for e in emotions] == ["neutral", "neutral", "sad"]
    assert emotions[2].confidence == pytest.approx(0.8)


def test_utterance_windows_check_their_input():
    words = words_at((0.0, 1.0))
    with pytest.raises(ValueError, match="utterance ids"):
        layout_utterance_windows(words, [0, 0])
    assert layout_utterance_windows([], []) == []
