"""transcribe.py with real models: the bundled tiny.en, and a tiny openai-whisper model built here."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from sentimentogram_cli.document import Segment, Word
from sentimentogram_cli.constants import SAMPLE_RATE
from sentimentogram_cli.devices import cuda_device_count, resolve_device
from sentimentogram_cli.errors import ModelError, SentimentogramError
from sentimentogram_cli.media import decode_audio
from sentimentogram_cli.transcription.transcribe import Transcript, transcribe, transcript_from_openai_result
from conftest import SHARED_DATA  # the project's data folder, in one place

ROOT = Path(__file__).resolve().parents[1]
JFK_CANDIDATES = (ROOT / "examples" / "jfk.flac", SHARED_DATA / "examples" / "jfk.flac")
JFK = next((p for p in JFK_CANDIDATES if p.is_file()), None)
needs_jfk = pytest.mark.skipif(JFK is None, reason="examples/jfk.flac (or ../shared/data/examples/jfk.flac) is absent")


@pytest.fixture(scope="module")
def jfk_audio() -> np.ndarray:
    return decode_audio(JFK)


def _norm(text: str) -> str:
    return re.sub(r"[^\w']", "", text.lower())


def _assert_well_formed(transcript: Transcript) -> None:
    previous_start = 0.0
    for segment in transcript.segments:
        assert isinstance(segment, Segment) and segment.words
        assert segment.start <= segment.words[0].start and segment.words[-1].end <= segment.end
        for word in segment.words:
            assert isinstance(word, Word) and word.text.strip()
            assert 0.0 <= word.start <= word.end <= transcript.duration
            assert word.start >= previous_start  # increasing through the whole transcript
            assert round(word.start, 3) == word.start and round(word.end, 3) == word.end
            assert 0.0 <= word.probability <= 1.0
            assert all(type(v) in (str, float) for v in asdict(word).values())  # JSON-ready
            previous_start = word.start


@needs_jfk
@pytest.mark.slow
def test_tiny_en_on_jfk(jfk_audio):
    fractions: list[float] = []
    transcript = transcribe(jfk_audio, model_name="tiny.en", progress=fractions.append)
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(11.0, abs=0.1)
    _assert_well_formed(transcript)
    words = [_norm(w.text) for w in transcript.words]
    assert "country" in words and "americans" in words and "ask" in words
    assert words.count("country") == 2
    # The two "country"s are about 4 s apart: in the middle and at the very end of the speech.
    times = [w.start for w in transcript.words if _norm(w.text) == "country"]
    assert 4.0 < times[0] < 8.0 and times[1] > 9.0
    assert fractions and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and all(0.0 <= f <= 1.0 for f in fractions)
    assert all(type(f) is float for f in fractions)


@needs_jfk
@pytest.mark.slow
@pytest.mark.parametrize("model", ["base", "tiny.en"])
def test_openai_whisper_jfk_checks_hold(jfk_audio, model):
    """openai/whisper's own test on this file, with our decoding passes and timestamp repair."""
    transcript = transcribe(jfk_audio, model_name=model)
    text = transcript.text.lower()
    assert "my fellow americans" in text and "your country" in text and "do for you" in text
    words = transcript.words
    assert all(w.start < w.end for w in words)
    assert all(w.end - w.start >= 0.04 for w in words)
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))  # none stacked
    americans = [w for w in words if w.text.strip(" ,") == "Americans"]
    assert americans and americans[0].start <= 1.8 <= americans[0].end
    assert transcript.language == "en" and 0.5 < transcript.language_probability <= 1.0


@pytest.mark.slow  # runs the real encoders / Whisper
def test_silence_gives_no_segments():
    # Runs Silero VAD from the ONNX file inside the faster-whisper wheel: no network needed.
    transcript = transcribe(np.zeros(5 * SAMPLE_RATE, dtype=np.float32), model_name="tiny.en")
    assert transcript.segments == [] and transcript.words == []
    assert transcript.duration == 5.0


def test_empty_audio():
    transcript = transcribe(np.zeros(0, dtype=np.float32), model_name="tiny.en")
    assert transcript.segments == [] and transcript.duration == 0.0


def test_bad_inputs_fail_before_any_model_loads():
    with pytest.raises(ValueError, match="mono"):
        transcribe(np.zeros((2, 1600), dtype=np.float32), model_name="tiny.en")
    with pytest.raises(SentimentogramError, match="unknown ASR backend"):
        transcribe(np.zeros(1600, dtype=np.float32), backend="kaldi")
    with pytest.raises(SentimentogramError, match="unknown language"):
        transcribe(np.zeros(1600, dtype=np.float32), model_name="tiny.en", language="klingon")


def test_unknown_model_path_is_a_model_error(tmp_path):
    with pytest.raises(ModelError) as exc:
        transcribe(np.zeros(1600, dtype=np.float32), model_name=str(tmp_path / "no-such-model"))
    assert "\n" not in str(exc.value)


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if cuda_device_count() > 0 else "cpu")
    with pytest.raises(SentimentogramError, match="unknown device"):
        resolve_device("tpu")
    if cuda_device_count() == 0:
        with pytest.raises(ModelError, match="no CUDA GPU"):
            resolve_device("cuda")
    else:
        assert resolve_device("cuda") == "cuda"


def test_openai_result_mapping():
    result = {
        "language": "en",
        "segments": [
            {"start": 0.0, "end": 2.0, "text": " Hello there.", "words": [
                {"word": " Hello", "start": 0.1234567, "end": 0.5, "probability": 0.9},
                {"word": " ", "start": 0.5, "end": 0.6, "probability": 0.1},  # dropped: empty
                {"word": " there.", "start": 0.6, "end": 2.0004, "probability": 0.8},
            ]},
            {"start": 2.0, "end": 2.5, "text": " ", "words": []},  # dropped: no words
        ],
    }
    transcript = transcript_from_openai_result(result, duration=2.0)
    assert transcript.language == "en" and len(transcript.segments) == 1
    segment = transcript.segments[0]
    assert segment.text == "Hello there."
    assert [w.text for w in segment.words] == [" Hello", " there."]
    assert segment.words[0].start == 0.123 and segment.words[1].end == 2.0  # ms, clipped to audio


def _tiny_openai_whisper(path: Path) -> None:
    """A 1-layer English openai-whisper model whose decoder is set to say " hello world".

    Random weights make openai-whisper loop through every temperature fallback for minutes, so
    the decoder's blocks are zeroed and the positional/token embeddings made to spell a script:
    <|0.00|> hello world <|0.80|> <|endoftext|>. Encoder, cross-attention (used for the word
    alignment) and the rest stay random: the real decoding and DTW code runs on them.
    """
    torch = pytest.importorskip("torch")
    from whisper.model import ModelDimensions, Whisper
    from whisper.tokenizer import get_tokenizer

    torch.manual_seed(0)
    d = 64
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=d, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51864, n_text_ctx=448, n_text_state=d, n_text_head=2, n_text_layer=1)
    model = Whisper(dims)
    with torch.no_grad():
        for p in model.parameters():  # Whisper() leaves its parameters uninitialised
            torch.nn.init.normal_(p, std=0.02)
        for block in model.decoder.blocks:
            for layer in (block.attn.out, block.cross_attn.out, block.mlp[2]):
                layer.weight.zero_()
                layer.bias.zero_()
        norms = [model.decoder.ln] + [n for b in model.decoder.blocks for n in (b.attn_ln, b.cross_attn_ln, b.mlp_ln)]
        for norm in norms:
            norm.weight.fill_(1.0)
            norm.bias.zero_()
        tokenizer = get_tokenizer(multilingual=False)
        script = [tokenizer.timestamp_begin, *tokenizer.encode(" hello world"),
                  tokenizer.timestamp_begin + 40, tokenizer.eot]
        basis = torch.eye(d)
        for i, token in enumerate(script):  # position i points at the token to emit next
            model.decoder.positional_embedding[i] += 10.0 * basis[i]
            model.decoder.token_embedding.weight[token] += 3.0 * basis[i]
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)


@needs_jfk
@pytest.mark.slow
def test_openai_whisper_backend(tmp_path, jfk_audio):
    whisper = pytest.importorskip("whisper", reason="openai-whisper is not installed (optional extra)")
    if not hasattr(whisper, "load_model"):
        pytest.skip("the installed `whisper` module is not openai-whisper")
    checkpoint = tmp_path / "tiny-openai-whisper.pt"
    _tiny_openai_whisper(checkpoint)
    audio = jfk_audio[: 2 * SAMPLE_RATE]
    fractions: list[float] = []
    transcript = transcribe(audio, model_name=str(checkpoint), backend="openai-whisper",
                            language="en", progress=fractions.append)
    assert transcript.language == "en" and transcript.duration == 2.0
    _assert_well_formed(transcript)
    assert [w.text for w in transcript.words] == [" hello", " world"]
    assert transcript.segments[0].text == "hello world"
    assert fractions == [1.0]


def test_openai_whisper_missing_is_a_clear_model_error():
    try:
        import whisper

        if hasattr(whisper, "load_model"):
            pytest.skip("openai-whisper is installed here")
    except ImportError:
        pass
    with pytest.raises(ModelError, match=r"pip install 'sentimentogram\[openai-whisper\]'"):
        transcribe(np.zeros(1600, dtype=np.float32), backend="openai-whisper", model_name="tiny")
