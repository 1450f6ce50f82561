"""The fine-tuned text encoder: a short real fine-tuning run, and its delta's round trip."""

import numpy as np
import pytest
import torch

from sentimentogram_cli.assets import TEXT_ENCODER_ID, minilm_dir
from sentimentogram_cli.emotion.text_delta import apply_text_delta, save_text_delta, text_delta_identity
from sentimentogram_cli.errors import InputError, ModelError
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


def test_read_meld_gives_each_line_the_previous_one_in_its_dialogue(tmp_path):
    from sentimentogram_cli.training.corpora import read_meld

    (tmp_path / "dev_sent_emo.csv").write_text(
        "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID\n"
        "1,Hi.,A,neutral,neutral,0,0\n2,You\x92re late!,B,anger,negative,0,1\n3,Sorry.,A,sadness,negative,0,2\n"
        "4,Guess what?,C,surprise,positive,1,0\n", encoding="utf-8")
    sentences = read_meld(tmp_path, "dev")
    assert [(s.context, s.text, s.label) for s in sentences] == [
        ("", "Hi.", "neutral"), ("Hi.", "You're late!", "angry"), ("You're late!", "Sorry.", "sad"),
        ("", "Guess what?", "surprise")]


def test_context_is_read_first_and_pooled_out():
    from transformers import AutoTokenizer

    from sentimentogram_cli.training.text_finetune import encode_batch

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True)
    line = Sentence("Sorry.", "sad", None, "meld", "dev", context="You are late again!")
    alone = encode_batch(tokenizer, [line, Sentence("Hi.", "neutral", None, "meld", "dev")], context=False)
    assert alone["input_ids"][0].tolist() == tokenizer("Sorry.")["input_ids"]  # as the shipped encoder reads it
    assert alone["pool_mask"].tolist() == alone["attention_mask"].tolist()
    both = encode_batch(tokenizer, [line, Sentence("Hi.", "neutral", None, "meld", "dev")], context=True)
    ids, pool = both["input_ids"][0], both["pool_mask"][0].bool()
    assert tokenizer.decode(ids[both["attention_mask"][0].bool()]) == "[CLS] you are late again! [SEP] sorry. [SEP]"
    assert tokenizer.decode(ids[pool]) == "sorry. [SEP]"  # the line's own tokens only
    assert both["pool_mask"][1].tolist() == both["attention_mask"][1].tolist()  # no context: the line alone


@pytest.mark.slow
def test_a_killed_finetuning_resumes_from_its_checkpoint_to_the_same_weights(tmp_path):
    from sentimentogram_cli.training.text_finetune import finetune_text_classifier, predict_text

    sentences = [Sentence(s.text, s.label, None, "meld", "train", context="What happened?" if i % 2 else "")
                 for i, s in enumerate(SENTENCES)]
    settings = TextFinetuneSettings(batch_size=8, encoder_lr=1e-3, epochs=2, context=True, checkpoint_every=3)
    model, tokenizer = _minilm()
    whole = finetune_text_classifier(model, tokenizer, sentences, settings)

    def killed_at_step_4(step, steps):
        if step == 4:
            raise KeyboardInterrupt

    model, _ = _minilm()
    with pytest.raises(KeyboardInterrupt):
        finetune_text_classifier(model, tokenizer, sentences, settings, checkpoint=tmp_path / "ck.pt",
                                 progress=killed_at_step_4)
    steps = []
    model, _ = _minilm()
    resumed = finetune_text_classifier(model, tokenizer, sentences, settings, checkpoint=tmp_path / "ck.pt",
                                       progress=lambda step, n: steps.append(step))
    assert steps == [4, 5, 6, 7, 8]  # from the checkpoint at step 3, not from the start
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    probabilities = predict_text(resumed, tokenizer, sentences, context=True)
    assert probabilities.shape == (len(sentences), 7) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    with pytest.raises(InputError, match="another fine-tuning run"):
        finetune_text_classifier(_minilm()[0], tokenizer, sentences, TextFinetuneSettings(batch_size=8),
                                 checkpoint=tmp_path / "ck.pt")
