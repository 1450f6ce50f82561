"""The models an ``Analyser`` runs, each loaded on first use and kept: the device, the emotion head
(its checkpoint checked before any weights load), the audio and text encoders it was trained on,
the voice encoders of speaker turns and the Whisper recogniser. ``analyser.Analyser`` inherits
them and chains the stages; keeping the loading here lets that module read as the stages alone.

Encoders and heads are shared by every Analyser of the process that asks for the same weights on
the same device (the README's Analyser and ``sg.analyse`` load them once), and freed with the last
user. Heavy imports (torch, the encoders) happen inside the properties, so making an Analyser or
reading a cache key loads nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .ahead import Ahead
from .assets import whisper_model_identity
from .devices import check_device
from .heap import tune_heap
from .emotion.checkpoint import BUNDLED_AUDIO_ENCODERS, check_encoders, head_metadata

__all__ = ["AnalyserModels"]


class AnalyserModels:
    """The models behind ``Analyser`` (see there for the arguments), each a property that loads
    it the first time it is read; ``head_path`` is the emotion head's checkpoint."""

    def __init__(self, device: str, asr_model: str, backend: str, head_path: Path):
        self.requested_device = check_device(device)
        tune_heap()  # before any model's threads allocate (heap.py)
        self.asr_model, self.backend = asr_model, backend
        self.head_path = head_path
        self._device: str | None = None
        self._head = self._audio_encoder = self._text_encoder = self._speaker_encoder = None

    @property
    def device(self) -> str:
        """The device the models run on: "cpu" or "cuda"."""
        if self._device is None:
            from .devices import resolve_device

            self._device = resolve_device(self.requested_device)
        return self._device

    @property
    def head(self):
        """The emotion head (``emotion.head.EmotionHead``), its encoders' identities checked."""
        if self._head is None:
            from .emotion.head import EmotionHead

            st = self.head_path.stat() if self.head_path.is_file() else None
            key = ("head", str(self.head_path.resolve()), st and (st.st_size, st.st_mtime_ns), self.device)
            head = _shared(key, lambda: EmotionHead.load(self.head_path, self.device))
            check_encoders(head.metadata)  # before any encoder is loaded
            self._head = head
        return self._head

    def _check_head(self) -> None:
        """The device resolved and the head's checkpoint checked from its header alone (format,
        features, encoders), without torch: a wrong head or device fails before the slow stages,
        while the weights load on a thread beside them (issue 25: importing torch first held the
        transcription back ~1 s)."""
        self.device  # noqa: B018 (a device that is not there fails here too, before decoding)
        if self._head is None:
            check_encoders(head_metadata(self.head_path)[0])

    @property
    def audio_encoder(self):
        """The Whisper encoder the head was trained on (``emotion.features.AudioEncoder``),
        whatever ``asr_model`` transcribes."""
        if self._audio_encoder is None:
            from .emotion.features import AudioEncoder

            metadata = self.head.metadata
            name, layers = BUNDLED_AUDIO_ENCODERS[metadata.audio_encoder], metadata.audio_layers
            self._audio_encoder = _shared(("audio", name, tuple(layers or ()), self.device),
                                          lambda: AudioEncoder(name, self.device, layers=layers))
        return self._audio_encoder

    @property
    def text_encoder(self):
        """The text encoder the head was trained on (``emotion.features.TextEncoder``)."""
        if self._text_encoder is None:
            from .emotion.features import TextEncoder

            identity = self.head.metadata.text_encoder
            self._text_encoder = _shared(("text", identity, self.device),
                                         lambda: TextEncoder.for_head(identity, self.device))
        return self._text_encoder

    @property
    def speaker_encoder(self):
        """The voice encoders speaker turns come from (``speakers.VoiceEncoder``)."""
        if self._speaker_encoder is None:
            from .speakers import VoiceEncoder

            self._speaker_encoder = VoiceEncoder(self.device)
        return self._speaker_encoder

    @property
    def whisper(self):
        """The faster-whisper ``WhisperModel`` the words come from (the faster-whisper backend),
        for code that calls it directly; the same loaded model ``transcribe`` uses."""
        from .assets import load_whisper

        return load_whisper(self.asr_model, self.device)

    @property
    def asr_identity(self) -> str:
        """The recogniser as analysis documents and cache keys name it."""
        if self.backend == "faster-whisper":
            return whisper_model_identity(self.asr_model)
        return f"{self.backend}:{self.asr_model}"

    def _preload_emotion_encoders(self) -> Ahead:
        """The emotion head and encoders (Whisper layers in torch, MiniLM) loaded on a thread while
        the audio is decoded and transcribed, whose heavy parts (ffmpeg, CTranslate2, Silero)
        leave the interpreter free: their ~4 s of imports and weights no longer wait in line
        (issue 25). A failure here is left for the stage, which loads again and says why."""
        return Ahead(lambda: (self.head, self.audio_encoder, self.text_encoder), "sentimentogram-preload")


# Loaded models, shared by every Analyser of the process that asks for the same weights on the same
# device (the README's Analyser and sg.analyse load the encoders once); freed with the last user.
_MODELS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_MODELS_LOCK = threading.Lock()


def _shared(key: tuple, load: Callable[[], Any]) -> Any:
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = load()
            _MODELS[key] = model
        return model
