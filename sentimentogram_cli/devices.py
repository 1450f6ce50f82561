"""Which device the models run on: ``auto`` resolves to ``cuda`` when a GPU is visible."""

from __future__ import annotations

from .errors import ModelError, UsageError

__all__ = ["DEVICES", "check_device", "cuda_device_count", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def cuda_device_count() -> int:
    """GPUs that CTranslate2 (the ASR and audio-encoder runtime) can use."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken CUDA driver install must not stop CPU runs
        return 0


def check_device(device: str | None) -> str:
    """``device`` as one of DEVICES (None: auto; case and spaces ignored); UsageError otherwise."""
    choice = (device or "auto").strip().lower()
    if choice not in DEVICES:
        raise UsageError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    return choice


def resolve_device(device: str = "auto") -> str:
    """``"cpu"`` or ``"cuda"``; ``auto`` picks cuda when CTranslate2 sees a GPU."""
    choice = check_device(device)
    if choice == "auto":
        return "cuda" if cuda_device_count() > 0 else "cpu"
    if choice == "cuda" and cuda_device_count() == 0:
        raise ModelError("device 'cuda' was asked for but no CUDA GPU is visible: use --device cpu")
    return choice
