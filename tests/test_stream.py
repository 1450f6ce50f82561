"""A long recording decoded as one from its chunks (transcription/stream.py, issue 25): the audio,
Silero's probabilities, the speech laid end to end and its log-mel, each against what
faster-whisper makes of the whole array; the log-mel bit for bit (transcription/mel_product.py,
checked where numpy's BLAS is the OpenBLAS kernel modelled there)."""

from __future__ import annotations

import numpy as np
import pytest

from sentimentogram_cli.constants import CHUNK_SAMPLES, SAMPLE_RATE
from sentimentogram_cli.transcription.mel_product import exact_here, openblas_threads, project, split_sums
from sentimentogram_cli.transcription.stream import ChunkedAudio, SpeechAudio, SpeechMel
from sentimentogram_cli.transcription.vad import WINDOW_SAMPLES, speech_chunks, speech_probabilities
from conftest import SHARED_DATA

RAVDESS = SHARED_DATA / "emotional_speech/ravdess/Actor_18"
TESS = SHARED_DATA / "emotional_speech/tess/OAF"


def _mel_filters() -> np.ndarray:
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor().mel_filters


@pytest.fixture
def modelled_blas():
    if not exact_here(_mel_filters(), openblas_threads()):
        pytest.skip("numpy's BLAS is not the OpenBLAS kernel mel_product.py models")


def _chunked(audio: np.ndarray) -> ChunkedAudio:
    return ChunkedAudio([audio[i:i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)], len(audio))


def _bursts(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise in bursts of 0.5-3 s with quiet between: something for Silero to take and leave."""
    rng = np.random.default_rng(seed)
    audio = (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 1e-3).astype(np.float32)
    t = 0.5
    while t < seconds - 3:
        n = int(rng.uniform(0.5, 3.0) * SAMPLE_RATE)
        a = int(t * SAMPLE_RATE)
        tone = np.sin(2 * np.pi * rng.uniform(120, 300) * np.arange(n) / SAMPLE_RATE) * rng.uniform(0.05, 0.5)
        audio[a: a + n] += (tone * (1 + 0.5 * rng.standard_normal(n))).astype(np.float32)
        t += n / SAMPLE_RATE + rng.uniform(0.2, 3.0)
    return audio


def test_chunked_audio_reads_like_the_array():
    audio = _bursts(75.0)
    view = _chunked(audio)
    assert len(view) == len(audio)
    for a, b in ((0, 10), (CHUNK_SAMPLES - 5, CHUNK_SAMPLES + 5), (100, len(audio)), (len(audio) - 3, len(audio) + 9)):
        np.testing.assert_array_equal(view[a:b], audio[a:b])
    assert view[50:50].shape == (0,)


def test_silero_a_batch_at_a_time_equals_faster_whispers_whole_call():
    from faster_whisper.vad import get_vad_model

    audio = _bursts(330.0)  # more than one batch of 10,000 windows (320 s)
    for n in (len(audio), 20 * WINDOW_SAMPLES, 20 * WINDOW_SAMPLES + 500, 100):
        padded = np.pad(audio[:n], (0, WINDOW_SAMPLES - n % WINDOW_SAMPLES))
        want = np.asarray(get_vad_model()(padded), np.float32).reshape(-1)
        np.testing.assert_array_equal(speech_probabilities(_chunked(audio[:n])), want)
        np.testing.assert_array_equal(speech_probabilities(audio[:n]), want)


@pytest.mark.skipif(not RAVDESS.is_dir(), reason=f"RAVDESS not found at {RAVDESS}")
def test_speech_laid_end_to_end_and_its_log_mel_are_faster_whispers():
    from faster_whisper.feature_extractor import FeatureExtractor
    from faster_whisper.vad import collect_chunks

    from sentimentogram_cli.media import decode_audio

    clips = [decode_audio(path) for path in sorted(RAVDESS.glob("*.opus"))[:12]]
    rng = np.random.default_rng(1)
    audio = np.concatenate([x for clip in clips * 4 for x in (clip, np.zeros(int(rng.uniform(0.3, 3.0) * SAMPLE_RATE),
                                                                             np.float32))])
    regions = speech_chunks(speech_probabilities(audio), len(audio), min_silence_duration_ms=500)
    assert len(regions) > 5
    joined = np.concatenate(collect_chunks(audio, regions)[0])
    speech = SpeechAudio(_chunked(audio), regions)
    assert len(speech) == len(joined)
    for a, b in ((0, len(joined)), (12345, 678901), (len(joined) - 10, len(joined))):
        np.testing.assert_array_equal(speech[a:b], joined[a:b])
    extractor = FeatureExtractor()
    want = extractor(joined)
    mel = SpeechMel(speech, extractor)
    assert mel.shape == want.shape
    if mel.exact:
        assert np.array_equal(mel[:, 0: mel.shape[1]], want)
        assert np.array_equal(mel[..., 2990: 3010], want[:, 2990: 3010])
    else:  # another BLAS: the mel projection per block may differ from the one product in the last bit
        np.testing.assert_allclose(mel[:, 0: mel.shape[1]], want, rtol=0, atol=2.5e-7)
    with pytest.raises(TypeError):
        mel[0, 5:9]


@pytest.fixture(scope="module")
def tess_recording() -> np.ndarray:
    """80 TESS sentences said twice, 0.1-0.6 s apart: about 5.5 minutes of another speaker."""
    from sentimentogram_cli.media import decode_audio

    if not TESS.is_dir():
        pytest.skip(f"TESS not found at {TESS}")
    rng = np.random.default_rng(2)
    clips = [decode_audio(path) for path in sorted(TESS.glob("*.opus"))[:80]]
    return np.concatenate([x for clip in clips * 2
                           for x in (clip, np.zeros(int(rng.uniform(0.1, 0.6) * SAMPLE_RATE), np.float32))])


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_log_mel_of_a_long_recording_is_the_extractors_bit_for_bit(tess_recording, threads, modelled_blas):
    """Another speaker, another length, and the whole product cut over 1, 2 or 3 threads."""
    from faster_whisper.feature_extractor import FeatureExtractor
    from threadpoolctl import threadpool_limits

    audio = tess_recording
    assert len(audio) > 300 * SAMPLE_RATE
    extractor = FeatureExtractor()
    with threadpool_limits(limits=threads, user_api="blas"):
        want = extractor(audio)
        mel = SpeechMel(_chunked(audio), extractor)
    assert mel.exact and mel.shape == want.shape
    assert np.array_equal(mel[:, 0: mel.shape[1]], want)


def test_the_mel_projection_is_numpys_product_for_any_length_and_threads(modelled_blas):
    """Random power spectra of many lengths (one block, blocks and a tail, threads' ranges), each
    made in pieces of 700 frames, against numpy's product of the whole in column order."""
    from threadpoolctl import threadpool_limits

    filters = _mel_filters()
    rng = np.random.default_rng(3)
    power = np.asfortranarray((rng.exponential(size=(201, 7000)) * 10.0 ** rng.uniform(-8, 3, (1, 7000))).astype(np.float32))
    for threads in (1, 2, 4, 16):
        with threadpool_limits(limits=threads, user_api="blas"):
            for frames in (2, 16, 17, 33, 40, 321, 641, 1537, 3001, 7000):
                split = split_sums(frames, threads, *filters.shape)
                got = np.concatenate([project(filters, power[:, a: min(frames, a + 700)], a, split)
                                      for a in range(0, frames, 700)], axis=1)
                assert np.array_equal(got, filters @ power[:, :frames]), (threads, frames)
