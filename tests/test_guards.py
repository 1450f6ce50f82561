"""Runaway-decode guards (transcription.guards): loops and words per second of speech, on
synthetic transcripts, and the guard in the transcription path on real speech (slow)."""

from __future__ import annotations


import numpy as np
import pytest

from sentimentogram_cli.document import Word
from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.transcription.guards import (MAX_WORDS_PER_SECOND, failure, find_loop, unsupported,
                                                     words_per_second)
from sentimentogram_cli.transcription.speech import FRAME_SECONDS, Envelope
from conftest import SHARED_DATA  # the project's data folder, in one place

RAVDESS = SHARED_DATA / "emotional_speech/ravdess/Actor_18"
SENTENCE = "Kids are talking by the door,".split()


def _timed(texts: list[str], start: float, end: float) -> list[Word]:
    step = (end - start) / len(texts)
    return [Word(f" {t}", round(start + i * step, 3), round(start + (i + 1) * step, 3), 0.5) for i, t in enumerate(texts)]


def _env(duration: float, *speech: tuple[float, float]) -> Envelope:
    loud = np.zeros(int(round(duration / FRAME_SECONDS)), bool)
    for a, b in speech:
        loud[int(round(a / FRAME_SECONDS)): int(round(b / FRAME_SECONDS))] = True
    return Envelope(loud)


def test_a_sentence_looped_until_the_token_limit_is_found():
    # What Whisper base returned on a talk of one sentence repeated (benchmarks/word_accuracy.py):
    # the sentence twice at speaking pace, then the same six words over and over in 4 s.
    words = _timed(SENTENCE * 2, 0.0, 4.0) + _timed(SENTENCE * 20, 4.0, 8.0)
    loop = find_loop(words)
    assert loop is not None and loop.size == 6 and loop.copies == 22
    assert (loop.start, loop.end) == (0, len(words))
    reason = failure(words, _env(10.0, (0.0, 2.0), (2.6, 4.4)), 0.0, 8.0)
    assert reason and "loops" in reason and "22 times" in reason


def test_one_word_over_and_over_is_a_loop():
    words = _timed(["Oh,", "no.", "no", "No", "no!", "no"], 0.0, 2.0)
    loop = find_loop(words)
    assert loop is not None and loop.size == 1 and loop.copies == 5 and loop.start == 1


def test_ordinary_speech_and_a_few_repeats_are_not_loops():
    assert find_loop(_timed("ask not what your country can do for you ask what you can do".split(), 0, 5)) is None
    assert find_loop(_timed(SENTENCE * 3, 0, 9)) is None  # three in a row: a list, a refrain
    assert find_loop(_timed(["very", "very", "very", "good"], 0, 2)) is None
    assert find_loop([]) is None


def test_words_per_second_counts_speech_not_silence():
    env = _env(10.0, (1.0, 3.0))  # 2 s of speech in a 10 s span
    words = _timed([f"w{i}" for i in range(10)], 0.0, 10.0)
    assert words_per_second(words, env, 0.0, 10.0) == pytest.approx(5.0)
    assert failure(words, env, 0.0, 10.0) is None
    many = _timed([f"w{i}" for i in range(46)], 1.0, 3.0)  # 46 different words in 2 s of speech
    assert words_per_second(many, env) > MAX_WORDS_PER_SECOND
    assert "words per second" in failure(many, env, 1.0, 3.0)


def test_a_short_segment_is_judged_on_at_least_a_second():
    env = _env(3.0, (1.0, 1.2))
    assert failure(_timed(["yes", "indeed", "sir"], 1.0, 1.2), env, 1.0, 1.2) is None
    assert failure(_timed([f"w{i}" for i in range(7)], 1.0, 1.2), env, 1.0, 1.2) is not None


def _sentence(start: float, probability: float = 0.95, stacked: int = 0) -> list[Word]:
    """The six words of SENTENCE over 1.8 s from ``start``, the last ``stacked`` of no duration."""
    words = [Word(w.text, w.start, w.end, probability) for w in _timed(SENTENCE, start, start + 1.8)]
    for w in words[len(words) - stacked:]:
        w.start = w.end = words[-1].end
    return words


def test_a_repeat_is_unsupported_only_when_its_words_lack_support_in_the_audio():
    stretches = [(0.0, 1.8), (2.6, 4.4)]
    assert unsupported(_sentence(0.0), 0.0, 1.8, stretches) is None
    assert "probability 0.05" in unsupported(_sentence(0.0, probability=0.05), 0.0, 1.8, stretches)
    assert unsupported(_sentence(0.0, stacked=1), 0.0, 1.8, stretches) is None  # one short word happens
    assert "2 words of no duration" in unsupported(_sentence(0.0, stacked=2), 0.0, 1.8, stretches)
    assert "over 2 speech stretches" in unsupported(_sentence(0.0), 0.0, 4.4, stretches)  # two turns, one sentence


class _OneSentence:
    """A stand-in recogniser that hears SENTENCE in whatever it is given, and counts its calls."""

    calls = 0

    def transcribe(self, audio, **kwargs):
        from types import SimpleNamespace

        self.calls += 1
        end = len(audio) / SAMPLE_RATE
        words = [SimpleNamespace(word=w.text, start=w.start, end=w.end, probability=0.9) for w in _timed(SENTENCE, 0, end)]
        return [SimpleNamespace(text=" " + " ".join(SENTENCE), start=0.0, end=end, words=words)], None


def test_a_real_repeat_across_segments_is_kept_and_only_unsupported_segments_decoded_again():
    """Three segments in a row with one text: kept as they are when every one is supported by the
    audio (no decode); one whose words were squeezed into no time is decoded again, alone."""
    from sentimentogram_cli.transcription.decoding import DecodeOptions, RawSegment
    from sentimentogram_cli.transcription.transcribe import _second_pass

    starts = (0.5, 3.0, 5.5)
    stretches = [(t, t + 1.8) for t in starts]
    audio, env = np.zeros(8 * SAMPLE_RATE, np.float32), _env(8.0, *stretches)
    text = " ".join(SENTENCE)
    model = _OneSentence()
    real = [RawSegment(text, t, t + 1.8, _sentence(t)) for t in starts]
    raw, notes = _second_pass(model, audio, real, "en", DecodeOptions(repair=False), env, stretches)
    assert raw == real and not notes and model.calls == 0
    looped = real[:2] + [RawSegment(text, 5.5, 7.3, _sentence(5.5, stacked=5))]
    raw, notes = _second_pass(model, audio, looped, "en", DecodeOptions(repair=False), env, stretches)
    assert raw[:2] == real[:2] and looped[2] not in raw and model.calls == 1
    assert "3 segments in a row, 5 words of no duration" in notes[0]
    prompted = DecodeOptions(repair=False, condition_on_previous_text=True)  # copies its prompt: all again
    raw, notes = _second_pass(model, audio, real, "en", prompted, env, stretches)
    assert model.calls == 4 and "3 segment(s) failed" in notes[0]


@pytest.mark.slow
@pytest.mark.skipif(not RAVDESS.is_dir(), reason=f"RAVDESS not found at {RAVDESS}")
def test_a_looping_first_pass_is_dropped_and_its_speech_decoded_again():
    """A first pass that looped over two real utterances is dropped; each utterance is decoded
    again on its own and comes back once, and the notes say so."""
    from sentimentogram_cli.assets import load_whisper
    from sentimentogram_cli.media import decode_audio
    from sentimentogram_cli.transcription.transcribe import _second_pass
    from sentimentogram_cli.transcription.decoding import DecodeOptions, RawSegment
    from sentimentogram_cli.transcription.speech import envelope, speech_stretches

    clip = decode_audio(RAVDESS / "03-01-05-02-01-01-18.opus")  # "Kids are talking by the door"
    audio = np.concatenate([clip, np.zeros(SAMPLE_RATE, np.float32), clip])
    duration = len(audio) / SAMPLE_RATE
    looped = RawSegment("loop", 0.0, duration, _timed(SENTENCE * 12, 0.5, duration - 0.5))
    env = envelope(audio)
    raw, notes = _second_pass(load_whisper("tiny.en", "cpu"), audio, [looped], "en", DecodeOptions(), env,
                              speech_stretches(audio, env))
    words = [w for s in raw for w in s.words]
    assert looped not in raw
    assert any("failed" in n and "loops" in n for n in notes)
    text = " ".join(w.text.strip(" ,.").lower() for w in words)
    assert text.count("kids") == 2 and text.count("door") == 2  # once per utterance
    assert len(words) / max(env.speech_seconds(0, duration), 1.0) <= MAX_WORDS_PER_SECOND


def test_short_speech_gets_a_token_budget_long_speech_whisper_s_own():
    from sentimentogram_cli.transcription.decoding import token_budget

    assert token_budget(1.0) == 60 and token_budget(3.0) == 140
    assert token_budget(0.0) == 20
    assert token_budget(10.0) is None  # beyond 5 s: Whisper's own 448-token limit


def test_a_stretch_that_failed_twice_is_cut_at_its_widest_pauses_into_short_pieces():
    from sentimentogram_cli.transcription.speech import shorter_stretches

    # Five turns of ~1.7 s, 0.05-0.15 s apart: one 9 s stretch to the first two passes.
    turns = [(0.0, 1.7), (1.8, 3.5), (3.55, 5.3), (5.45, 7.1), (7.2, 8.9)]
    pieces = shorter_stretches((0.0, 8.9), _env(10.0, *turns), max_seconds=4.0)
    assert all(b - a <= 4.0 for a, b in pieces) and len(pieces) >= 3
    cuts = [a for a, _ in pieces[1:]]
    assert all(any(abs(c - t[0]) < 0.02 for t in turns) for c in cuts)  # every cut at a turn's onset
    assert shorter_stretches((0.0, 3.0), _env(4.0, (0.0, 3.0))) == [(0.0, 3.0)]  # short: as it was
    assert shorter_stretches((0.0, 6.0), _env(7.0, (0.0, 6.0))) == [(0.0, 6.0)]  # no pause: as it was


# Two RAVDESS actors whose turns latch (0.007-0.18 s apart): benchmarks/speakers.py --gaps 0 0.2,
# validation dialogue "same-2-4". Whisper base loops over the whole stretch on the first pass and
# again on the second ("by the door, kids are talking" 21 and 28 times), which left no word at all.
_LATCHED = [("Actor_02/03-01-06-01-02-01-02.opus", None), ("Actor_04/03-01-07-02-02-01-04.opus", None),
            ("Actor_02/03-01-04-02-01-02-02.opus", 0.6), ("Actor_04/03-01-05-01-02-02-04.opus", None),
            ("Actor_02/03-01-01-01-02-01-02.opus", None), ("Actor_04/03-01-01-01-01-01-04.opus", None),
            ("Actor_04/03-01-03-02-01-02-04.opus", None), ("Actor_02/03-01-06-01-01-02-02.opus", 0.35),
            ("Actor_04/03-01-05-01-02-01-04.opus", None), ("Actor_02/03-01-07-01-01-01-02.opus", None)]
_LATCHED_GAPS = [2892, 932, 1138, 105, 321, 204, 2317, 663, 1491, 865]  # samples at 16 kHz


def _latched() -> np.ndarray:
    import soundfile as sf

    parts = [np.zeros(SAMPLE_RATE // 2, np.float32)]
    for (path, cut), gap in zip(_LATCHED, _LATCHED_GAPS):
        audio, _ = sf.read(SHARED_DATA / "emotional_speech/ravdess" / path, dtype="float32")
        frame = 160  # trimmed by energy, as the benchmark trims its turns
        rms = np.sqrt(np.mean(audio[: len(audio) // frame * frame].reshape(-1, frame) ** 2, axis=1))
        loud = np.flatnonzero(rms > max(rms.max() * 0.06, 1e-4))
        clip = audio[max(0, (loud[0] - 3) * frame): min(len(audio), (loud[-1] + 4) * frame)]
        if cut:
            clip = clip[: int(cut * SAMPLE_RATE)].copy()
            clip[-160:] *= np.linspace(1, 0, 160)
        parts += [clip, np.zeros(gap, np.float32)]
    return np.concatenate(parts + [np.zeros(SAMPLE_RATE // 2, np.float32)])


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "emotional_speech/ravdess").is_dir(), reason="needs ../shared/data")
def test_latched_turns_whisper_loops_over_twice_are_decoded_in_shorter_pieces():
    from sentimentogram_cli.transcription.transcribe import transcribe

    t = transcribe(_latched(), model_name="base", language="en")
    words = [w for s in t.segments for w in s.words]
    assert any("failed again" in n for n in t.notes)  # the case this is for (fails if Whisper stops looping)
    assert not any("dropped" in n for n in t.notes)
    assert len(words) >= 40  # ten turns, two cut short: about 52 words said
    text = " ".join(w.text.lower() for w in words)
    assert text.count("kids") <= 6 and text.count("dogs") <= 6  # at most one per turn that says it
