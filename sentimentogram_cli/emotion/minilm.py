"""all-MiniLM-L6-v2 for inference in plain torch, without transformers' model code.

Why: a render loads MiniLM once, and with ``transformers.AutoModel`` that load cost 1.7-2.6 CPU s,
nearly all of it importing transformers' modelling stack (torch._dynamo, torch.distributed,
sympy, scipy.optimize) for a 6-layer BERT (issue 25). This is the same network (BERT: word,
position and token-type embeddings; post-norm layers; exact GELU), run with the same torch calls
transformers 5 makes on the CPU (``scaled_dot_product_attention`` with a boolean key mask, none
when nothing is padded), so its hidden states are the same numbers (a test compares them).
Parameter names are transformers' ``BertModel`` names, so its state dict and the fine-tuned
``text_delta`` load as they are. The tokenizer is the package's own ``tokenizer.json`` through
``tokenizers``, the library transformers' BertTokenizer runs on. Fine-tuning the text encoder
(``cli.train_commands.run_finetune_text``) still goes through transformers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MiniLM", "MiniLMTokenizer"]


class _Embeddings(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        dim = config["hidden_size"]
        self.word_embeddings = nn.Embedding(config["vocab_size"], dim, padding_idx=config.get("pad_token_id", 0))
        self.position_embeddings = nn.Embedding(config["max_position_embeddings"], dim)
        self.token_type_embeddings = nn.Embedding(config["type_vocab_size"], dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=config["layer_norm_eps"])

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x + self.position_embeddings(positions))


class _SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)


class _Output(nn.Module):
    def __init__(self, dim_in: int, dim: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(dim_in, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, eps: float):
        super().__init__()
        self.self = _SelfAttention(dim, heads)
        self.output = _Output(dim, dim, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        a = self.self
        shape = (*x.shape[:-1], -1, a.head_dim)
        q, k, v = (lin(x).view(shape).transpose(1, 2) for lin in (a.query, a.key, a.value))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, scale=a.head_dim ** -0.5,
                                             is_causal=False)
        return self.output(out.transpose(1, 2).contiguous().reshape(*x.shape[:-1], -1).contiguous(), x)


class _Intermediate(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.dense = nn.Linear(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class _Layer(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        dim, eps = config["hidden_size"], config["layer_norm_eps"]
        self.attention = _Attention(dim, config["num_attention_heads"], eps)
        self.intermediate = _Intermediate(dim, config["intermediate_size"])
        self.output = _Output(config["intermediate_size"], dim, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class _Encoder(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(config) for _ in range(config["num_hidden_layers"]))


class MiniLM(nn.Module):
    """A BERT encoder (``config.json`` of the MiniLM folder) whose ``forward`` returns the last
    hidden states (batch, tokens, 384). Only inference: no dropout, no pooler."""

    def __init__(self, config: dict):
        super().__init__()
        if config.get("hidden_act", "gelu") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("MiniLM: only BERT with exact GELU and absolute positions is supported")
        self.hidden_size = config["hidden_size"]
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)

    @classmethod
    def from_folder(cls, folder: Path) -> "MiniLM":
        """The network of a sentence-transformers MiniLM folder (``config.json``, ``model.safetensors``)."""
        from safetensors.torch import load_file

        model = cls(json.loads((Path(folder) / "config.json").read_text()))
        weights = {k.removeprefix("bert."): v for k, v in load_file(str(Path(folder) / "model.safetensors")).items()}
        own = model.state_dict()
        missing = [k for k in own if k not in weights]
        if missing:
            raise ValueError(f"MiniLM weights lack {missing[0]}")
        model.load_state_dict({k: weights[k] for k in own})
        return model.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        x = self.embeddings(input_ids, types)
        b, n = input_ids.shape
        # transformers' bidirectional mask: keys that are not padding, or none when none is.
        mask = None if bool(attention_mask.all()) else attention_mask[:, None, None, :].bool().expand(b, 1, n, n)
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return x


class MiniLMTokenizer:
    """The folder's ``tokenizer.json`` (BERT WordPiece, lower-cased, [CLS] … [SEP]): a batch of
    texts to padded ``input_ids``, ``token_type_ids`` and ``attention_mask`` tensors, as
    transformers' tokenizer gives them with ``padding=True, truncation=True, max_length=…``."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.pad_id = self.tokenizer.token_to_id("[PAD]")

    def __call__(self, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding(pad_id=self.pad_id, pad_token="[PAD]")  # to the batch's longest
        out = self.tokenizer.encode_batch(list(texts))
        return {"input_ids": torch.tensor([e.ids for e in out], dtype=torch.long),
                "token_type_ids": torch.tensor([e.type_ids for e in out], dtype=torch.long),
                "attention_mask": torch.tensor([e.attention_mask for e in out], dtype=torch.long)}
