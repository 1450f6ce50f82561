"""Word-timestamp repair and the second pass over skipped speech (transcription.timestamps,
transcription.decoding): synthetic word lists over a synthetic envelope, and one slow test with
the real tiny.en model on real RAVDESS speech."""

from __future__ import annotations


import numpy as np
import pytest

from sentimentogram_cli.document import Word
from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.transcription.speech import FRAME_SECONDS, Envelope, envelope, merge_regions
from sentimentogram_cli.transcription.timestamps import drop_stacked_repeats, repair_words
from conftest import SHARED_DATA  # the project's data folder, in one place

RAVDESS = SHARED_DATA / "emotional_speech/ravdess/Actor_18"


def _env(duration: float, *speech: tuple[float, float]) -> Envelope:
    loud = np.zeros(int(round(duration / FRAME_SECONDS)), bool)
    for a, b in speech:
        loud[int(round(a / FRAME_SECONDS)): int(round(b / FRAME_SECONDS))] = True
    return Envelope(loud)


def _words(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(f" {t}", s, e, 0.9) for t, s, e in items]


def _well_formed(words: list[Word], duration: float) -> None:
    for a, b in zip(words, words[1:]):
        assert a.end <= b.start + 1e-9, (a, b)
    for w in words:
        assert 0 <= w.start < w.end <= duration
        assert w.end - w.start >= 0.04 - 1e-9, w


def test_stacked_zero_length_words_are_spread_over_their_speech():
    # "dogs are sitting" all at 1.50 s (zero length); the speech there runs 1.2-2.4 s.
    env = _env(4.0, (0.2, 1.0), (1.2, 2.4))
    words = _words(("kids", 0.2, 0.6), ("talk", 0.6, 1.0), ("dogs", 1.5, 1.5), ("are", 1.5, 1.5),
                   ("sitting", 1.5, 1.5))
    fixed = repair_words(words, env, 4.0)
    _well_formed(fixed, 4.0)
    assert [w.text for w in fixed] == [w.text for w in words]
    spread = fixed[2:]
    assert spread[0].start >= 1.0 and spread[-1].end <= 2.4 + 1e-9
    assert spread[-1].end - spread[0].start > 0.8  # they cover the speech, not one instant
    # longer words get more time
    assert spread[2].end - spread[2].start > spread[1].end - spread[1].start


def test_a_zero_length_word_between_neighbours_gets_room():
    env = _env(3.0, (0.0, 3.0))
    words = _words(("a", 0.5, 1.0), ("b", 1.0, 1.0), ("c", 1.0, 1.6))
    fixed = repair_words(words, env, 3.0)
    _well_formed(fixed, 3.0)


def test_overlapping_words_no_longer_overlap():
    env = _env(3.0, (0.0, 3.0))
    fixed = repair_words(_words(("one", 0.2, 1.0), ("two", 0.6, 1.4), ("three", 1.5, 2.0)), env, 3.0)
    _well_formed(fixed, 3.0)


def test_edges_in_silence_snap_to_the_speech():
    # Whisper starts "hello" in the pause (0.5) and ends "world" in the next one (2.9).
    env = _env(4.0, (1.0, 1.6), (1.7, 2.3))
    fixed = repair_words(_words(("hello", 0.5, 1.6), ("world", 1.7, 2.9)), env, 4.0)
    assert fixed[0].start == pytest.approx(1.0) and fixed[0].end == pytest.approx(1.6)
    assert fixed[1].start == pytest.approx(1.7) and fixed[1].end == pytest.approx(2.3)


def test_a_first_word_stretched_back_over_the_pause_starts_after_it():
    # "door" ends too early (2.0; speech to 2.4); "kids" is stretched from 2.0 over the 0.8 s
    # pause to 3.6 although its speech starts at 3.2.
    env = _env(5.0, (1.0, 2.4), (3.2, 4.5))
    fixed = repair_words(_words(("the", 1.0, 1.5), ("door", 1.5, 2.0), ("kids", 2.0, 3.6), ("are", 3.6, 4.0)), env, 5.0)
    assert fixed[2].start == pytest.approx(3.2)  # after the pause
    assert fixed[1].end == pytest.approx(2.4)  # "door" takes the speech before it
    _well_formed(fixed, 5.0)


def test_a_last_word_stretched_over_the_pause_ends_before_it():
    env = _env(5.0, (1.0, 2.4), (3.2, 4.5))
    fixed = repair_words(_words(("the", 1.0, 1.5), ("door", 1.5, 3.1), ("kids", 3.3, 3.6)), env, 5.0)
    assert fixed[1].end == pytest.approx(2.4)


def test_a_sentence_end_placed_after_its_pause_goes_back_to_its_speech():
    # Issue 19's "door!": Whisper puts the angry sentence's last word after the pause, glued to
    # "Kids" of the next sentence, while its speech (1.5-2.2 s) lies unclaimed before the pause.
    env = _env(5.0, (0.5, 2.2), (2.9, 4.0))
    words = _words(("sitting", 0.5, 1.1), ("the", 1.1, 1.5), ("door!", 2.75, 2.9), ("Kids", 2.9, 3.3),
                   ("are", 3.3, 3.6))
    fixed = repair_words(words, env, 5.0)
    _well_formed(fixed, 5.0)
    assert fixed[2].start >= 1.5 - 1e-9 and fixed[2].end == pytest.approx(2.2)
    assert fixed[3].start == pytest.approx(2.9)
    # A cut-off word ("-") moves the same way; a sentence end that is not glued to the next
    # sentence (a real pause after it) stays where it is.
    words = _words(("sitting", 0.5, 1.1), ("the", 1.1, 1.5), ("-", 2.75, 2.9), ("Kids", 2.9, 3.3))
    assert repair_words(words, env, 5.0)[2].end == pytest.approx(2.2)
    env = _env(6.0, (0.5, 2.2), (2.9, 3.2), (4.0, 5.0))
    words = _words(("sitting", 0.5, 1.1), ("the", 1.1, 2.2), ("Yes.", 2.9, 3.2), ("Kids", 4.0, 4.5))
    assert repair_words(words, env, 6.0)[2].start == pytest.approx(2.9)


def test_a_sentence_start_glued_to_the_previous_sentence_moves_after_the_pause():
    env = _env(5.0, (0.5, 1.6), (2.4, 4.0))
    words = _words(("the", 0.5, 1.0), ("door.", 1.0, 1.6), ("Kids", 1.6, 1.75), ("are", 2.9, 3.3))
    fixed = repair_words(words, env, 5.0)
    _well_formed(fixed, 5.0)
    assert fixed[2].start == pytest.approx(2.4) and fixed[2].end <= fixed[3].start + 1e-9


def test_snapping_keeps_a_minimum_duration():
    env = _env(3.0, (1.0, 1.02))  # 20 ms of speech
    fixed = repair_words(_words(("hm", 0.5, 1.5)), env, 3.0)
    assert fixed[0].end - fixed[0].start >= 0.1 - 1e-9


def test_words_at_the_very_end_stay_inside_the_audio():
    env = _env(2.0, (1.5, 2.0))
    fixed = repair_words(_words(("so", 1.99, 2.0), ("it", 2.0, 2.0), ("ends", 2.0, 2.0)), env, 2.0)
    _well_formed(fixed, 2.0)


def test_stacked_repeat_of_the_neighbours_is_dropped():
    words = _words(("kids", 1.0, 1.3), ("are", 1.3, 1.5), ("talking", 1.5, 2.0),
                   ("kids", 2.2, 2.2), ("are", 2.2, 2.2), ("talking", 2.2, 2.2), ("dogs", 3.0, 3.4))
    kept, dropped = drop_stacked_repeats(words)
    assert dropped == 3 and [w.text.strip() for w in kept] == ["kids", "are", "talking", "dogs"]


def test_stacked_words_that_repeat_nothing_are_kept():
    words = _words(("kids", 1.0, 1.3), ("dogs", 2.2, 2.2), ("sit", 2.2, 2.2))
    kept, dropped = drop_stacked_repeats(words)
    assert dropped == 0 and len(kept) == 3


def test_envelope_finds_speech_and_pauses():
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) * ((t > 0.5) & (t < 1.2) | (t > 2.0) & (t < 2.5))).astype(np.float32)
    runs = envelope(audio).runs()
    assert len(runs) == 2
    assert runs[0] == pytest.approx((0.5, 1.2), abs=0.02) and runs[1] == pytest.approx((2.0, 2.5), abs=0.02)


def test_merge_regions():
    assert merge_regions([(0.0, 1.0), (1.2, 2.0), (3.0, 4.0)], 0.3) == [(0.0, 2.0), (3.0, 4.0)]


@pytest.mark.slow
@pytest.mark.skipif(not RAVDESS.is_dir(), reason=f"RAVDESS not found at {RAVDESS}")
def test_a_skipped_stretch_is_decoded_again():
    """Two real utterances; the first pass is given words for the first only (as when Whisper
    skips one): the second pass finds the second one's words, at its time, and nothing that
    repeats the first one's words at the same time."""
    from sentimentogram_cli.assets import load_whisper
    from sentimentogram_cli.media import decode_audio
    from sentimentogram_cli.transcription.decoding import DecodeOptions, RawSegment, decode, rescue_skipped
    from sentimentogram_cli.transcription.speech import vad_regions

    first = decode_audio(RAVDESS / "03-01-05-02-01-01-18.opus")  # angry "Kids are talking by the door"
    second = decode_audio(RAVDESS / "03-01-03-02-02-01-18.opus")  # happy "Dogs are sitting by the door"
    audio = np.concatenate([first, np.zeros(SAMPLE_RATE // 2, np.float32), second])
    t2 = (len(first) + SAMPLE_RATE // 2) / SAMPLE_RATE
    model = load_whisper("tiny.en", "cpu")
    options = DecodeOptions()
    full, _ = decode(model, audio, "en", options)
    only_first = [RawSegment(s.text, s.start, s.end, [w for w in s.words if w.end <= t2]) for s in full]
    assert not any(w.start >= t2 for s in only_first for w in s.words)
    found, tried = rescue_skipped(model, audio, only_first, vad_regions(audio), "en", options)
    assert tried >= 1
    new = [w for s in found for w in s.words]
    text = "".join(w.text for w in new).lower()
    assert "sitting by the door" in text  # (tiny.en may hear "dogs" as "does")
    assert all(w.start >= t2 - 0.3 for w in new)
    # the first utterance was covered: nothing of it comes back
    assert "kids" not in text
