"""The fused model's shapes, masking, loss and checkpoint format (a small model built here)."""

import numpy as np
import pytest
import torch

from sentimentogram_cli.constants import EMOTIONS
from sentimentogram_cli.errors import ModelError
from sentimentogram_cli.emotion.features import AUDIO_FEATURES
from sentimentogram_cli.emotion.fusion import FusedEmotionModel, FusionConfig, fusion_loss
from sentimentogram_cli.emotion.head import EmotionHead, HeadMetadata


def small_model(**overrides) -> FusedEmotionModel:
    torch.manual_seed(0)
    return FusedEmotionModel(FusionConfig(labels=EMOTIONS, dim=32, heads=2, **overrides)).eval()


def inputs(batch=3, tokens=5, frames=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    text = torch.randn(batch, tokens, 384, generator=g)
    audio = torch.randn(batch, frames, 512, generator=g)
    return text, torch.ones(batch, tokens, dtype=torch.bool), audio, torch.ones(batch, frames, dtype=torch.bool)


@pytest.mark.parametrize("variant", [{}, {"vad_guided": False}, {"cross_attention": False, "gated": False}])
def test_output_shapes_and_ranges(variant):
    out = small_model(**variant)(*inputs())
    assert out.logits.shape == (3, len(EMOTIONS))
    assert out.vad.shape == (3, 3) and bool(((out.vad > 0) & (out.vad < 1)).all())
    assert torch.allclose(out.gates.sum(dim=1), torch.ones(3))
    assert out.text_embedding.shape == out.audio_embedding.shape == (3, 64)


def test_window_without_words_gives_text_gate_zero():
    text, text_mask, audio, audio_mask = inputs()
    text_mask[1] = False  # no words in the second window
    out = small_model()(text, text_mask, audio, audio_mask)
    assert out.gates[1, 0] == 0 and out.gates[1, 1] == 1
    assert 0 < out.gates[0, 0] < 1
    assert torch.isfinite(out.logits).all()


def test_missing_audio_gives_audio_gate_zero():
    text, text_mask, audio, audio_mask = inputs()
    audio_mask[2] = False
    out = small_model()(text, text_mask, audio, audio_mask)
    assert out.gates[2, 1] == 0 and out.gates[2, 0] == 1


def test_padding_does_not_change_the_prediction():
    model = small_model()
    text, text_mask, audio, audio_mask = inputs(batch=1)
    padded_audio = torch.cat([audio, torch.randn(1, 4, 512)], dim=1)
    padded_mask = torch.cat([audio_mask, torch.zeros(1, 4, dtype=torch.bool)], dim=1)
    a = model(text, text_mask, audio, audio_mask).logits
    # The convolution sees zeros beyond the last frame either way; padding content must not leak.
    b = model(text, text_mask, padded_audio * padded_mask[..., None], padded_mask).logits
    assert torch.allclose(a, b, atol=1e-5)


def test_loss_ignores_labels_a_corpus_lacks_and_trains():
    model = small_model()
    model.train()
    text, text_mask, audio, audio_mask = inputs(batch=4)
    labels = torch.tensor([0, 1, 2, 3])
    allowed = torch.ones(4, len(EMOTIONS), dtype=torch.bool)
    allowed[:, 5] = False  # no disgust in this corpus
    vad = torch.rand(4, 3)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        out = model(text, text_mask, audio, audio_mask)
        loss = fusion_loss(out, labels, torch.ones(4, dtype=torch.bool), vad, torch.ones(4, dtype=torch.bool),
                           allowed, torch.ones(4, dtype=torch.bool))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def _head(model, **metadata):
    fields = dict(version="test", audio_encoder="whisper-base", text_encoder="minilm", feature_convention=AUDIO_FEATURES,
                  window_seconds=3.0, hop_seconds=1.0, recording_mean_weight=0.5, audio_layers=(6,))
    meta = HeadMetadata(**{**fields, **metadata})
    dim = model.config.audio_dim
    return EmotionHead(model, meta, np.zeros(dim, np.float32), np.ones(dim, np.float32))


def test_checkpoint_round_trip(tmp_path):
    head = _head(small_model())
    path = tmp_path / "head.safetensors"
    head.save(path)
    loaded = EmotionHead.load(path, audio_encoder="whisper-base", text_encoder="minilm")
    assert loaded.labels == EMOTIONS and loaded.metadata.recording_mean_weight == 0.5
    rng = np.random.default_rng(0)
    text = [rng.normal(size=(4, 384)).astype(np.float32), None]
    audio = [rng.normal(size=(9, 512)).astype(np.float32)] * 2
    a, b = head.predict(text, audio), loaded.predict(text, audio)
    assert np.allclose(a.probabilities, b.probabilities, atol=1e-6)
    assert b.gates[1, 0] == 0


def test_checkpoint_refuses_other_encoders(tmp_path):
    path = tmp_path / "head.safetensors"
    _head(small_model()).save(path)
    with pytest.raises(ModelError, match="trained on audio encoder"):
        EmotionHead.load(path, audio_encoder="whisper:large-v3")
    with pytest.raises(ModelError, match="not an emotion head"):
        (tmp_path / "junk.safetensors").write_bytes(b"junk")
        EmotionHead.load(tmp_path / "junk.safetensors")


def test_checkpoint_records_layers_and_temperature(tmp_path):
    head = _head(small_model(audio_dim=1536, audio_layers=3, layer_mix="weighted"), audio_layers=(2, 3, 4),
                 temperature=1.7)
    path = tmp_path / "head.safetensors"
    head.save(path)
    loaded = EmotionHead.load(path)
    assert loaded.metadata.audio_layers == (2, 3, 4) and loaded.metadata.temperature == 1.7
    weights = loaded.model.layer_weights()
    assert weights is not None and torch.allclose(weights.sum(), torch.tensor(1.0))
    rng = np.random.default_rng(1)
    audio = [rng.normal(size=(9, 1536)).astype(np.float32)]
    out = loaded.predict([None], audio)
    # Temperature scaling divides the logits: the same argmax, a flatter distribution.
    assert np.allclose(out.probabilities, torch.softmax(torch.from_numpy(out.logits) / 1.7, -1).numpy(), atol=1e-6)


def test_checkpoint_of_other_features_is_a_clear_error(tmp_path):
    path = tmp_path / "head.safetensors"
    _head(small_model(), feature_convention="mfcc-v0").save(path)
    with pytest.raises(ModelError, match="trained on audio features 'mfcc-v0'"):
        EmotionHead.load(path)


def test_head_from_before_layer_features_reads_the_last_layer(tmp_path):
    path = tmp_path / "head.safetensors"
    _head(small_model(), feature_convention="chunk30s-pool2-packed-by-speaker-v1", audio_layers=()).save(path)
    assert EmotionHead.load(path).metadata.audio_layers == (6,)
