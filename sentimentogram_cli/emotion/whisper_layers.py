"""The Whisper encoder in torch, filled from the CTranslate2 ``model.bin`` that also transcribes.

Why: CTranslate2's ``encode`` returns only the last layer, and the middle layers carry the
emotion that transfers across corpora (the model card's per-layer table). So the emotion stage
runs the same encoder weights in torch, only as deep as the deepest layer the head uses, and
returns those layers' hidden states. The weights are read from the model bytes in memory (the
bytes are SHA-256 checked by ``assets``); nothing is written to disk.

Layer numbering: 0 is the input of the first block (convolutions + positions), ``i`` the output
of block ``i``; the last layer has Whisper's final layer norm applied, so it equals ``encode``.
"""

from __future__ import annotations

import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError

__all__ = ["read_ctranslate2_variables", "WhisperLayerEncoder"]

# CTranslate2's DataType enum order (include/ctranslate2/types.h).
_CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # bfloat16 unsupported here
_CT2_BINARY_VERSIONS = (5, 6)


def read_ctranslate2_variables(model_bin: bytes | bytearray, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model file whose names start with ``prefix`` (float32)."""
    view = memoryview(model_bin)
    pos = 0

    def unpack(fmt: str):
        nonlocal pos
        value = struct.unpack_from(fmt, model_bin, pos)[0]
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = unpack("H")
        text = bytes(view[pos : pos + n - 1]).decode("utf-8")
        pos += n
        return text

    try:
        version = unpack("I")
        if version not in _CT2_BINARY_VERSIONS:
            raise ModelError(f"CTranslate2 model file version {version} is not supported")
        string()  # spec name
        unpack("I")  # spec revision
        out: dict[str, np.ndarray] = {}
        for _ in range(unpack("I")):
            name = string()
            shape = tuple(unpack("I") for _ in range(unpack("B")))
            dtype_id = unpack("B")
            n_bytes = unpack("I")
            if name.startswith(prefix):
                dtype = _CT2_DTYPES[dtype_id] if dtype_id < len(_CT2_DTYPES) else None
                if dtype is None:
                    raise ModelError(f"CTranslate2 variable {name} has an unsupported data type ({dtype_id})")
                out[name[len(prefix):]] = np.frombuffer(model_bin, dtype, n_bytes // np.dtype(dtype).itemsize, pos).reshape(shape)
            pos += n_bytes
    except struct.error as exc:
        raise ModelError("the Whisper model file is truncated or not a CTranslate2 model") from exc
    if any(k.endswith("weight_scale") for k in out):
        raise ModelError("an int8-quantised CTranslate2 model cannot feed the layer encoder: use a float model")
    return out


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.attn_ln = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn_out = nn.Linear(dim, dim)
        self.mlp_ln = nn.LayerNorm(dim)
        self.mlp_in = nn.Linear(dim, 4 * dim)
        self.mlp_out = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.attn_ln(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, d)
        x = x + self.attn_out(attended)
        return x + self.mlp_out(F.gelu(self.mlp_in(self.mlp_ln(x))))


class WhisperLayerEncoder(nn.Module):
    """Whisper's audio encoder up to ``max(layers)``; ``forward(mel)`` → (B, T, len(layers) · dim)."""

    def __init__(self, variables: dict[str, np.ndarray], layers: tuple[int, ...]):
        super().__init__()
        n_blocks = sum(1 for k in variables if k.endswith("self_attention/linear_1/weight"))
        if not layers or min(layers) < 0 or max(layers) > n_blocks:
            raise ModelError(f"encoder layers {layers} are outside 0..{n_blocks}")
        self.layers = tuple(sorted(set(layers)))
        self.n_blocks = n_blocks
        weight = variables["conv1/weight"]
        dim, n_mels = weight.shape[0], weight.shape[1]
        self.dim, self.n_mels = dim, n_mels
        heads = int(np.asarray(variables.get("num_heads", dim // 64)).reshape(-1)[0])
        self.conv1 = nn.Conv1d(n_mels, dim, 3, padding=1)
        self.conv2 = nn.Conv1d(dim, dim, 3, stride=2, padding=1)
        self.blocks = nn.ModuleList(_Block(dim, heads) for _ in range(max(self.layers)))
        self.final_ln = nn.LayerNorm(dim)  # used only when the last layer is asked for
        self.register_buffer("positions", torch.zeros(variables["position_encodings/encodings"].shape))
        self._load(variables)
        self.eval()

    def _load(self, v: dict[str, np.ndarray]) -> None:
        def put(param: torch.Tensor, name: str) -> None:
            value = torch.from_numpy(np.asarray(v[name], np.float32))
            if value.shape != param.shape:
                raise ModelError(f"Whisper variable {name} has shape {tuple(value.shape)}, expected {tuple(param.shape)}")
            param.data.copy_(value)

        with torch.no_grad():
            for conv in ("conv1", "conv2"):
                put(getattr(self, conv).weight, f"{conv}/weight")
                put(getattr(self, conv).bias, f"{conv}/bias")
            put(self.positions, "position_encodings/encodings")
            for i, block in enumerate(self.blocks):
                p = f"layer_{i}/"
                for ln, name in ((block.attn_ln, "self_attention/layer_norm"), (block.mlp_ln, "ffn/layer_norm")):
                    put(ln.weight, p + name + "/gamma")
                    put(ln.bias, p + name + "/beta")
                for lin, name in ((block.qkv, "self_attention/linear_0"), (block.attn_out, "self_attention/linear_1"),
                                  (block.mlp_in, "ffn/linear_0"), (block.mlp_out, "ffn/linear_1")):
                    put(lin.weight, p + name + "/weight")
                    put(lin.bias, p + name + "/bias")
            put(self.final_ln.weight, "layer_norm/gamma")
            put(self.final_ln.bias, "layer_norm/beta")

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positions[: x.shape[1]]
        states = {0: x} if 0 in self.layers else {}
        for i, block in enumerate(self.blocks, start=1):
            x = block(x)
            if i in self.layers:
                states[i] = self.final_ln(x) if i == self.n_blocks else x
        return torch.cat([states[i] for i in self.layers], dim=-1)

    def quantised(self) -> "WhisperLayerEncoder":
        """A copy whose linear layers run in dynamic int8 (CPU): about twice as fast, frames close."""
        return torch.ao.quantization.quantize_dynamic(self, {nn.Linear}, dtype=torch.qint8)

