"""Silero run once per piece (transcription/vad.py, issue 25): its probabilities thresholded here give
faster-whisper's own regions, one pass gives the same speech stretches as two, and a decode fed
the regions gives the words and times of faster-whisper's own VAD filter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.media import decode_audio
from sentimentogram_cli.transcription import speech
from sentimentogram_cli.transcription.decoding import DecodeOptions, decode
from sentimentogram_cli.transcription.speech import envelope, speech_stretches, vad_regions
from sentimentogram_cli.transcription.vad import speech_chunks, speech_probabilities
from conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
JFK = next((p for p in (ROOT / "examples" / "jfk.flac", SHARED_DATA / "examples" / "jfk.flac") if p.is_file()), None)
needs_jfk = pytest.mark.skipif(JFK is None, reason="examples/jfk.flac is absent")

# faster-whisper's VAD filter as the first pass sets it, the lenient stretches' settings, a
# region cut at a maximum length, and a threshold between.
SETTINGS = [DecodeOptions().vad_parameters(),
            dict(threshold=0.25, min_silence_duration_ms=200, speech_pad_ms=30, min_speech_duration_ms=150),
            dict(threshold=0.5, max_speech_duration_s=3.0, min_silence_duration_ms=100),
            dict(threshold=0.35, neg_threshold=0.3, speech_pad_ms=0, min_speech_duration_ms=500)]


@pytest.fixture(scope="module")
def talk() -> np.ndarray:
    """JFK's 11 s twice, 1.5 s of quiet noise between and after: several regions, one cut."""
    audio = decode_audio(JFK)
    quiet = (np.random.default_rng(0).standard_normal(int(1.5 * SAMPLE_RATE)) * 1e-3).astype(np.float32)
    return np.concatenate([audio, quiet, audio[: 7 * SAMPLE_RATE + 123], quiet])


@needs_jfk
@pytest.mark.parametrize("settings", SETTINGS)
def test_thresholded_probabilities_are_faster_whispers_regions(talk, settings):
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    want = get_speech_timestamps(talk, VadOptions(**settings))
    assert want  # the audio has speech under every setting
    assert speech_chunks(speech_probabilities(talk), len(talk), **settings) == want


def test_no_speech_and_a_short_input():
    quiet = np.zeros(SAMPLE_RATE, np.float32)
    assert speech_chunks(speech_probabilities(quiet), len(quiet)) == []
    assert len(speech_probabilities(np.zeros(100, np.float32))) == 1


@needs_jfk
def test_one_silero_pass_gives_the_same_stretches_as_two(talk, monkeypatch):
    env = envelope(talk)
    probs = speech_probabilities(talk)
    calls = []
    monkeypatch.setattr(speech, "speech_probabilities", lambda audio: calls.append(1) or speech_probabilities(audio))
    two = speech_stretches(talk, env)  # Silero run again inside
    one = speech_stretches(talk, env, probs=probs)
    assert calls == [1]  # only the stretches without probabilities ran the network
    assert one == two and len(one) >= 2
    assert vad_regions(talk, probs=probs) == vad_regions(talk)


@needs_jfk
@pytest.mark.slow  # runs tiny.en
def test_a_decode_fed_the_regions_equals_faster_whispers_vad_filter(talk):
    from sentimentogram_cli.assets import load_whisper

    model, options = load_whisper("tiny.en", "cpu"), DecodeOptions()
    regions = speech_chunks(speech_probabilities(talk), len(talk), **options.vad_parameters())
    assert len(regions) >= 2  # times are mapped back across a removed silence
    own, _ = decode(model, talk, "en", options)
    fed, _ = decode(model, talk, "en", options, speech=regions)
    assert [(s.text, s.start, s.end) for s in fed] == [(s.text, s.start, s.end) for s in own]
    assert [[(w.text, w.start, w.end, w.probability) for w in s.words] for s in fed] == \
        [[(w.text, w.start, w.end, w.probability) for w in s.words] for s in own]
    assert sum(len(s.words) for s in own) > 20
