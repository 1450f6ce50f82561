"""The fine-tuned text encoder as a small delta on top of the carrier package's MiniLM.

Why a delta: all-MiniLM-L6-v2 already ships in a pinned, SHA-checked package; fine-tuning for
emotion changes only its top layers, so the package ships just those (float16, a few MB) and
rebuilds the encoder in memory at load. The delta records the base weights' identity and the
layers it replaces; the shipped file's SHA-256 is pinned in ``assets`` like every other weight.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..errors import ModelError
from .checkpoint import TEXT_DELTA_FORMAT, text_delta_identity

__all__ = ["TEXT_DELTA_FORMAT", "save_text_delta", "apply_text_delta", "text_delta_identity"]



def _layer_prefixes(layers: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"encoder.layer.{i}." for i in layers)


def save_text_delta(model: torch.nn.Module, path: Path, layers: tuple[int, ...], base: str, name: str) -> None:
    """Write the given transformer layers of a fine-tuned BERT-like ``model`` as a float16 delta."""
    prefixes = _layer_prefixes(layers)
    tensors = {k: v.detach().to(torch.float16).cpu().contiguous()
               for k, v in model.state_dict().items() if k.startswith(prefixes)}
    if not tensors:
        raise ModelError(f"the text model has no layers {layers} to save")
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    save_file(tensors, str(tmp), metadata={"format": TEXT_DELTA_FORMAT, "base": base, "name": name,
                                           "layers": json.dumps(list(layers))})
    tmp.replace(path)


def apply_text_delta(model: torch.nn.Module, path: Path, base: str) -> str:
    """Replace ``model``'s layers by the delta's (as float32); returns the delta's name."""
    name = text_delta_identity(path)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    if meta["base"] != base:
        raise ModelError(f"{path} was fine-tuned from {meta['base']!r}, not {base!r}")
    tensors = load_file(str(path))
    own = model.state_dict()
    unknown = [k for k in tensors if k not in own or own[k].shape != tensors[k].shape]
    if unknown:
        raise ModelError(f"{path} does not fit the text encoder (e.g. {unknown[0]})")
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    return name
