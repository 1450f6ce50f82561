"""The fine-tuned text encoder: a short real fine-tuning run, and its delta's round trip."""

import numpy as np
import pytest
import torch

from sentimentogram_cli.assets import TEXT_ENCODER_ID, minilm_dir
from sentimentogram_cli.emotion.text_delta import apply_text_delta, save_text_delta, text_delta_identity
from sentimentogram_cli.errors import ModelError
from sentimentogram_cli.training.corpora import Sentence
from sentimentogram_cli.training.text_finetune import TextFinetuneSettings, finetune_text_encoder


def _minilm():
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(minilm_dir(), local_files_only=True), \
        AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True)


def _embed(model, tokenizer, texts):
    with torch.inference_mode():
        enc = tokenizer(texts, padding=True, return_tensors="pt")
        return model(**enc).last_hidden_state.numpy()


SENTENCES = [Sentence(t, label, None, "test", "train") for t, label in [
    ("I am so happy for you!", "happy"), ("This is wonderful news", "happy"),
    ("I hate this, get out", "angry"), ("You make me furious", "angry"),
    ("I miss her so much", "sad"), ("Nothing will ever be the same", "sad"),
    ("The meeting is at noon", "neutral"), ("It is a table", "neutral")] * 4]


def test_finetuning_changes_only_the_top_layers_and_the_delta_round_trips(tmp_path):
    model, tokenizer = _minilm()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    settings = TextFinetuneSettings(batch_size=8, encoder_lr=1e-3, layers=(4, 5))
    finetune_text_encoder(model, tokenizer, SENTENCES, settings)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("encoder.layer.4.", "encoder.layer.5.")) for k in changed)

    path = tmp_path / "delta.safetensors"
    save_text_delta(model, path, settings.layers, TEXT_ENCODER_ID, "test-delta")
    assert text_delta_identity(path) == "test-delta"
    fresh, _ = _minilm()
    assert apply_text_delta(fresh, path, TEXT_ENCODER_ID) == "test-delta"
    texts = ["I can't believe you did that", "ok"]
    # float16 storage: equal to the fine-tuned model up to half-precision rounding.
    assert np.allclose(_embed(fresh.eval(), tokenizer, texts), _embed(model.eval(), tokenizer, texts), atol=2e-2)


def test_delta_refuses_another_base_and_other_files(tmp_path):
    model, _ = _minilm()
    path = tmp_path / "delta.safetensors"
    save_text_delta(model, path, (5,), TEXT_ENCODER_ID, "test-delta")
    with pytest.raises(ModelError, match="fine-tuned from"):
        apply_text_delta(model, path, "bert-base-uncased")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ModelError, match="not a text-encoder delta"):
        text_delta_identity(tmp_path / "junk.safetensors")
