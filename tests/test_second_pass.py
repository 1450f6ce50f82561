"""The second pass with ``DecodeOptions.pack_rescue``: the speech stretches it decodes again packed
into shared windows (transcription.decoding: pack_stretches, unpack_words, rescue_skipped):
grouping, words mapped back to their own stretch, and one slow test with tiny.en on real RAVDESS
speech; its decodes run as many at a time as the recogniser has workers, and begun beside the
first pass (``EarlyRescue``) they give what they give after it."""

from __future__ import annotations

import numpy as np
import pytest

from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.document import Word
from sentimentogram_cli.transcription.decoding import PACK_GAP, RawSegment, pack_stretches, unpack_words
from conftest import SHARED_DATA

RAVDESS = SHARED_DATA / "emotional_speech/ravdess/Actor_18"


def test_stretches_pack_into_windows_no_longer_than_the_limit():
    stretches = [(0.0, 10.0), (20.0, 30.0), (40.0, 47.0), (50.0, 52.0), (60.0, 95.0), (100.0, 101.0)]
    groups = pack_stretches(stretches, gap=1.0, limit=28.0)
    assert [s for g in groups for s in g] == stretches  # all kept, in order
    assert groups[:2] == [[(0.0, 10.0), (20.0, 30.0)], [(40.0, 47.0), (50.0, 52.0)]]  # 10+1+10+1+7 > 28
    for g in groups:
        length = sum(b - a for a, b in g) + 1.0 * (len(g) - 1)
        assert len(g) == 1 or length <= 28.0
    assert [(60.0, 95.0)] in groups  # longer than a window: alone


def test_words_go_back_to_their_own_stretch_and_segments_split_there():
    # stretches at 10-12 s and 30-31.5 s of the recording, packed at 0 and 2 + PACK_GAP s
    places = [(0.0, 10.0, 12.0), (2.0 + PACK_GAP, 30.0, 31.5)]
    seg = RawSegment(" one two three", 0.1, 4.0, [Word(" one", 0.1, 0.6, 0.9), Word(" two", 0.7, 1.9, 0.9),
                                                 Word(" three", 3.2, 4.0, 0.9)])
    out = unpack_words([seg], places)
    assert [s.place for s in out] == [0, 1]
    assert [(w.text, w.start, w.end) for w in out[0].words] == [(" one", 10.1, 10.6), (" two", 10.7, 11.9)]
    assert [(w.text, w.start, w.end) for w in out[1].words] == [(" three", 30.2, 31.0)]
    assert out[1].text == " three" and (out[1].start, out[1].end) == (30.2, 31.0)


def test_a_word_in_the_silence_between_goes_to_the_nearest_stretch_inside_its_bounds():
    places = [(0.0, 10.0, 12.0), (2.0 + PACK_GAP, 30.0, 31.5)]
    out = unpack_words([RawSegment(" uh", 2.1, 2.4, [Word(" uh", 2.1, 2.4, 0.5)])], places)
    assert out[0].place == 0
    w = out[0].words[0]
    assert 10.0 <= w.start <= w.end <= 12.0


def _three_utterances() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Three of actor 18's utterances with 3 s of silence between, and each one's (start, end) s."""
    from sentimentogram_cli.media import decode_audio

    clips = [decode_audio(RAVDESS / name) for name in
             ("03-01-05-02-01-01-18.opus", "03-01-03-02-02-01-18.opus", "03-01-04-02-01-02-18.opus")]
    gap = np.zeros(3 * SAMPLE_RATE, np.float32)
    bounds, t = [], 0.0
    for c in clips:
        bounds.append((t, t + len(c) / SAMPLE_RATE))
        t += (len(c) + len(gap)) / SAMPLE_RATE
    return np.concatenate([clips[0], gap, clips[1], gap, clips[2]]), bounds


@pytest.mark.slow
def test_packed_second_pass_finds_each_stretch_at_its_own_time():
    """Three utterances (3 s of silence between) the first pass gave no word: packed into one
    window, each one's words come back inside its own stretch."""
    from sentimentogram_cli.assets import load_whisper
    from sentimentogram_cli.transcription.decoding import DecodeOptions, rescue_skipped

    audio, bounds = _three_utterances()
    found, tried = rescue_skipped(load_whisper("tiny.en", "cpu"), audio, [], bounds, "en",
                                  DecodeOptions(pack_rescue=True))
    assert tried == 3
    words = [w for s in found for w in s.words]
    for a, b in bounds:  # every utterance has words, all inside the audio of its clip
        assert any(a <= w.start and w.end <= b for w in words)
    assert all(any(a - 0.21 <= w.start and w.end <= b + 0.21 for a, b in bounds) for w in words)  # 0.2 s pad
    text = "".join(w.text for w in words).lower()
    assert "kids" in text and "door" in text


def test_stretches_are_decoded_as_many_at_once_as_the_recogniser_has_workers():
    """With two CTranslate2 workers (assets.load_whisper on a CPU) two stretches are decoded at
    once; what comes back is in the stretches' order, as one at a time."""
    import threading
    import time
    from types import SimpleNamespace

    from sentimentogram_cli.transcription.decoding import DecodeOptions, rescue_skipped

    class Recogniser:
        def __init__(self, workers: int):
            self.model, self.threads = SimpleNamespace(num_workers=workers), set()

        def transcribe(self, audio, **kwargs):
            self.threads.add(threading.get_ident())
            time.sleep(0.05)
            word = SimpleNamespace(word=f" {len(audio)}", start=0.1, end=0.3, probability=0.9)
            return [SimpleNamespace(text=word.word, start=0.1, end=0.3, words=[word])], None

    stretches = [(float(t), t + 0.5 + t / 100) for t in range(0, 12, 2)]  # each a different length
    audio = np.zeros(13 * SAMPLE_RATE, np.float32)
    results = {}
    for workers in (1, 2):
        model = Recogniser(workers)
        found, tried = rescue_skipped(model, audio, [], stretches, "en", DecodeOptions())
        results[workers] = [(s.text, s.start) for s in found]
        assert tried == 6 and len(model.threads) == workers
    assert results[1] == results[2] and [start for _, start in results[1]] == sorted(start for _, start in results[1])


def test_the_second_pass_begun_early_decodes_each_stretch_once_and_gives_the_same_segments():
    """``EarlyRescue``: a stretch the first pass has left RESCUE_BEHIND behind without a word is
    decoded then; ``rescue_skipped`` takes that result, decodes what is left, drops what it no
    longer needs, and returns what it returns without it."""
    import threading
    from types import SimpleNamespace

    from sentimentogram_cli.transcription.decoding import DecodeOptions, EarlyRescue, rescue_skipped

    class Recogniser:
        model = SimpleNamespace(num_workers=2)

        def __init__(self):
            self.calls, self.lock = [], threading.Lock()

        def transcribe(self, audio, **kwargs):
            with self.lock:
                self.calls.append(len(audio))
            word = SimpleNamespace(word=f" {len(audio)}", start=0.1, end=0.3, probability=0.9)
            return [SimpleNamespace(text=word.word, start=0.1, end=0.3, words=[word])], None

    stretches = [(1.0, 2.0), (4.0, 5.5), (8.0, 8.1), (10.0, 12.0), (14.0, 15.0)]  # (8.0, 8.1): too short
    audio = np.zeros(16 * SAMPLE_RATE, np.float32)
    covered = RawSegment(" yes", 4.1, 5.4, [Word(" yes", 4.1, 5.4, 0.9)])
    late = Recogniser()
    expected, tried = rescue_skipped(late, audio, [covered], stretches, "en", DecodeOptions())
    assert tried == 3 and len(late.calls) == 3  # (4.0, 5.5) has a word

    model = Recogniser()
    with EarlyRescue(model, audio, stretches, "en", DecodeOptions()) as early:
        early.heard([covered])  # the decode is at 4.1 s: (1.0, 2.0) is behind it and has no word
        early.heard([covered, RawSegment(" then", 13.5, 14.0, [Word(" then", 13.5, 14.0, 0.9)])])
        assert sorted(early.started) == [(0.8, 2.2), (9.8, 12.2)]  # (14, 15) is not behind yet
        # the guard then drops the 13.5 s segment: (10, 12) is still without words, (14, 15) too
        found, tried = rescue_skipped(model, audio, [covered], stretches, "en", DecodeOptions(), early=early)
    assert [(s.text, s.start) for s in found] == [(s.text, s.start) for s in expected] and tried == 3
    assert sorted(model.calls) == sorted(late.calls)  # each stretch decoded once


@pytest.mark.slow
def test_stretches_decoded_early_on_the_second_worker_give_the_words_decoded_late():
    """Real decodes (tiny.en, two workers): the three utterances decoded beside a first pass
    (``EarlyRescue``) give the same words, at the same times, as the second pass after it."""
    from sentimentogram_cli.assets import load_whisper
    from sentimentogram_cli.transcription.decoding import DecodeOptions, EarlyRescue, rescue_skipped

    audio, bounds = _three_utterances()
    model, options = load_whisper("tiny.en", "cpu"), DecodeOptions()
    late, _ = rescue_skipped(model, audio, [], bounds, "en", options)
    with EarlyRescue(model, audio, bounds, "en", options) as early:
        end = len(audio) / SAMPLE_RATE
        early.heard([RawSegment(" end", end + 2, end + 3, [])])  # the first pass is past all three
        assert len(early.started) == 3
        found, tried = rescue_skipped(model, audio, [], bounds, "en", options, early=early)
    assert tried == 3
    assert [(w.text, w.start, w.end) for s in found for w in s.words] == \
        [(w.text, w.start, w.end) for s in late for w in s.words] != []
