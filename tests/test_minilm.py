"""emotion/minilm.py (issue 25): MiniLM without transformers' model code gives the same tokens and
the same hidden states, bit for bit, as transformers' BertTokenizer and BertModel, with and
without the shipped text delta; and a render no longer imports transformers for it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from sentimentogram_cli.assets import TEXT_ENCODER_ID, minilm_dir, text_delta_path
from sentimentogram_cli.constants import MAX_TEXT_TOKENS
from sentimentogram_cli.emotion.minilm import MiniLM, MiniLMTokenizer
from sentimentogram_cli.emotion.text_delta import apply_text_delta

TEXTS = ["Kids are talking by the door.", "Dogs are sitting by the door!", "", "why?", "I CAN'T believe it…",
         "Café naïve résumé — “quoted” 😀", "中文 and English", "tab\there\nnew line", "a long one " * 40]


def _transformers(delta: bool):
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(minilm_dir(), local_files_only=True).eval()
    if delta:
        apply_text_delta(model, text_delta_path(), TEXT_ENCODER_ID)
    return AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True), model


@pytest.mark.slow  # loads MiniLM twice
@pytest.mark.parametrize("delta", [False, True])
def test_same_tokens_and_hidden_states_as_transformers(delta):
    tokenizer, reference = _transformers(delta)
    ours, tokens = MiniLM.from_folder(minilm_dir()), MiniLMTokenizer(minilm_dir())
    if delta:
        apply_text_delta(ours, text_delta_path(), TEXT_ENCODER_ID)
    # a padded batch, one of equal lengths (no mask at all), one text alone, one cut at the limit
    for batch in (TEXTS, ["same length", "same length"], ["one"], [TEXTS[-1]]):
        want = tokenizer(batch, padding=True, truncation=True, max_length=MAX_TEXT_TOKENS, return_tensors="pt")
        got = tokens(batch, MAX_TEXT_TOKENS)
        assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in got)
        with torch.inference_mode():
            assert torch.equal(ours(**got), reference(**want).last_hidden_state)
    assert tokens([TEXTS[-1]], MAX_TEXT_TOKENS)["input_ids"].shape[1] == MAX_TEXT_TOKENS


def test_weights_that_do_not_fit_are_refused(tmp_path):
    (tmp_path / "config.json").write_text((minilm_dir() / "config.json").read_text())
    from safetensors.torch import save_file

    save_file({"embeddings.word_embeddings.weight": torch.zeros(2, 2)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="lack"):
        MiniLM.from_folder(tmp_path)


def test_the_text_encoder_loads_without_transformers():
    code = ("import sys; from sentimentogram_cli.emotion.features import TextEncoder; "
            "e = TextEncoder(); e.embed(['hello there']); print('transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
