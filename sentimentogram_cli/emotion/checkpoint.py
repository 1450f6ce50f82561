"""What the emotion head's checkpoint and the text-encoder delta say about themselves, read and
checked without torch.

Why: a render checks its head (format, audio features, the encoders it was trained on) before the
slow stages, so a wrong checkpoint fails at once; importing torch to do so held the transcription
back by about a second. Now the check reads only the safetensors headers, and the weights load on a
thread beside the transcription (``Analyser._preload_emotion_encoders``, issue 25).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import safe_open

from ..assets import (BUNDLED_ASR_MODEL, TEXT_ENCODER_ID, head_checkpoint_path, text_delta_path, verify_shipped_head,
                      whisper_model_identity)
from ..errors import ModelError

__all__ = ["AUDIO_FEATURES", "BUNDLED_AUDIO_ENCODERS", "CHECKPOINT_FORMAT", "TEXT_DELTA_FORMAT", "HeadMetadata",
           "check_encoders", "head_metadata", "text_delta_for", "text_delta_identity"]

# The feature recipe: a head trained on one recipe refuses frames of another.
AUDIO_FEATURES = "whisper-layers-chunk30s-pool2-v2"
CHECKPOINT_FORMAT = "sentimentogram-emotion-head/1"
TEXT_DELTA_FORMAT = "sentimentogram-text-delta/1"
# Audio encoders that ship with the package, by the identity a head checkpoint records.
BUNDLED_AUDIO_ENCODERS = {whisper_model_identity(name): name for name in (BUNDLED_ASR_MODEL, "tiny.en")}
# Heads trained before the layer features (sentimentogram 0.1) read Whisper base's last layer.
_LAST_LAYER_CONVENTION = "chunk30s-pool2-packed-by-speaker-v1"


@dataclass
class HeadMetadata:
    version: str
    audio_encoder: str
    text_encoder: str
    feature_convention: str
    window_seconds: float
    hop_seconds: float
    # Per-recording normalisation: the recording's mean frame, shrunk toward the training-set mean
    # by this weight (0 = global statistics only), so one long angry talk still reads angry.
    recording_mean_weight: float = 0.0
    # k (seconds): the weight above is shrunk by the amount of audio the mean is taken over,
    # w · s / (s + k) (0 = no shrinkage, the older heads): one short clip keeps most of the global
    # centre, a long talk takes its own (emotion.recognise.recording_weight).
    recording_mean_seconds: float = 0.0
    # Whisper-encoder layers whose hidden states make the audio frames (features.AudioEncoder).
    audio_layers: tuple[int, ...] = ()
    # Temperature scaling of the logits, fitted on validation speakers so confidences are calibrated.
    temperature: float = 1.0
    extra: dict = field(default_factory=dict)


def _header(path: Path, what: str) -> dict:
    try:
        with safe_open(str(path), framework="numpy") as f:
            return f.metadata() or {}
    except Exception as exc:
        raise ModelError(f"{path} is not {what}: {exc}") from exc


def head_metadata(path: Path | None = None, *, audio_encoder: str | None = None,
                  text_encoder: str | None = None) -> tuple[HeadMetadata, dict]:
    """A head checkpoint's metadata and raw header (the shipped one by default), checked: its
    format, the audio features it was trained on, and the encoders named (when given)."""
    shipped = path is None or Path(path).resolve() == head_checkpoint_path().resolve()
    path = Path(path) if path else head_checkpoint_path()
    if not path.is_file():
        raise ModelError(f"emotion head checkpoint not found: {path}")
    if shipped:
        verify_shipped_head(path)
    meta = _header(path, "an emotion head checkpoint")
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint")
    metadata = HeadMetadata(**json.loads(meta["metadata"]))
    metadata.audio_layers = tuple(metadata.audio_layers)
    if metadata.feature_convention == _LAST_LAYER_CONVENTION and metadata.audio_encoder == "whisper-base":
        metadata.audio_layers = (6,)  # what CTranslate2's encode returned: the torch encoder's last layer
    elif not metadata.feature_convention.startswith(AUDIO_FEATURES) or not metadata.audio_layers:
        raise ModelError(f"{path} was trained on audio features {metadata.feature_convention!r}; this version "
                         f"computes {AUDIO_FEATURES!r}: retrain it (sentimentogram train) or install the "
                         f"sentimentogram it came from")
    for role, wanted, trained in (("audio", audio_encoder, metadata.audio_encoder),
                                  ("text", text_encoder, metadata.text_encoder)):
        if wanted is not None and wanted != trained:
            raise ModelError(f"the emotion head was trained on {role} encoder {trained!r}, "
                             f"not {wanted!r}: use that encoder or train a head for yours")
    return metadata, meta


def text_delta_identity(path: Path) -> str:
    """The delta's name (recorded in heads trained on its embeddings)."""
    meta = _header(path, "a text-encoder delta")
    if meta.get("format") != TEXT_DELTA_FORMAT:
        raise ModelError(f"{path} is not a {TEXT_DELTA_FORMAT} file")
    return meta["name"]


def text_delta_for(identity: str) -> Path | None:
    """The delta (None: plain MiniLM) for a head's recorded text encoder; a clear error when
    this version does not ship it. Reads no weights."""
    if identity == TEXT_ENCODER_ID:
        return None
    shipped = text_delta_path()
    if identity == f"{TEXT_ENCODER_ID}+{text_delta_identity(shipped)}":
        return shipped
    raise ModelError(f"the emotion head was trained on text encoder {identity!r}, which this version does not "
                     f"ship: retrain the head or install the sentimentogram it came from")


def check_encoders(metadata: HeadMetadata) -> None:
    """A clear error when the head was trained on encoders this version does not ship."""
    text_delta_for(metadata.text_encoder)
    if metadata.audio_encoder not in BUNDLED_AUDIO_ENCODERS:
        raise ModelError(f"the emotion head was trained on audio encoder {metadata.audio_encoder!r}, which is not "
                         f"bundled: use a head trained on {whisper_model_identity(BUNDLED_ASR_MODEL)!r}")
