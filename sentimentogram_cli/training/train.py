"""The training loop: frozen-encoder features in, a trained EmotionHead out (seeded, CPU-friendly)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..constants import VERSION
from ..constants import CATEGORY_VAD, HOP_SECONDS, WINDOW_SECONDS
from ..emotion.fusion import FusedEmotionModel, FusionConfig, fusion_loss
from ..emotion.head import EmotionHead, HeadMetadata
from .data import AudioNormaliser, TrainingData
from .extract import FEATURE_CONVENTION
from .feature_cache import cache_key
from .samples import Sample, collate, crop_and_mask

__all__ = ["TrainSettings", "train_head", "cached_train_head"]


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 4
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    lambda_vad: float = 0.5
    lambda_micl: float = 0.1
    sentences_per_epoch: int = 8_000
    pseudo_pair_rate: float = 0.5  # share of clips also shown with a same-label sentence
    own_transcript_rate: float = 0.5  # how often a clip comes with its (emotionally flat) transcript
    # How often a neutral clip is also shown with an emotional sentence, labelled as the sentence:
    # flat voice + emotional words reads as the words (an emotional voice with flat words already
    # comes from the clips' own transcripts, labelled as the voice).
    neutral_voice_pair_rate: float = 0.5
    # The recipe of head v3 (issue 24), chosen on validation speakers and leave-one-corpus-out by
    # benchmarks/product_path.py: the recording mean at full weight, shrunk by k = 20 s of audio,
    # and the clips encoded alone (training.mix) shown three times an epoch each.
    recording_mean_weight: float = 1.0
    # k in seconds: the weight shrinks with the audio the mean is taken over, w·s/(s+k) (0: fixed).
    recording_mean_seconds: float = 20.0
    # How often each training clip that has frames encoded alone (TrainingData.alone: one short
    # clip as render sees it, at its own length, its own mean) is shown that way per epoch.
    alone_repeat: int = 3
    # Share of audio samples centred on the clip itself (``AudioNormaliser.self_centred_clip``)
    # instead of on its speaker: a short clip rendered alone brings no other sample of its voice.
    self_centred_rate: float = 0.0
    # Chance that a clip with augmented frames (TrainingData.augmented) is also shown augmented.
    augment_rate: float = 0.0
    # At most this many packed clips of each speaker an epoch, drawn afresh each epoch (0: all):
    # TESS has 1,400 clips a speaker and ASED 40, so without a cap a few voices dominate an epoch.
    clips_per_speaker: int = 0
    feature_noise: float = 0.1  # Gaussian noise on normalised frames, and time masking below
    time_mask_rate: float = 0.1
    use_audio: bool = True
    use_text: bool = True
    cross_attention: bool = True
    vad_guided: bool = True
    gated: bool = True
    # Encoder layers the head reads, and how it mixes them (chosen on validation speakers and
    # leave-one-corpus-out: the model card's selection table).
    audio_layers: tuple[int, ...] = (1, 2, 3, 4)
    layer_mix: str = "concat"
    seed: int = 0

    def variant(self, **changes) -> "TrainSettings":
        return replace(self, **changes)


def _seed_everything(seed: int) -> np.random.Generator:
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def _augment(frames: np.ndarray, settings: TrainSettings, rng: np.random.Generator) -> np.ndarray:
    # A compact float16 copy: an epoch holds every sample's crop (~18,000 with the clips encoded
    # alone), and a crop that is a view would keep its whole float32 clip alive (half the memory).
    return crop_and_mask(frames, rng, settings.time_mask_rate).astype(np.float16)


def _speaker_draw(data: TrainingData, clip_indices: list[int], cap: int, rng: np.random.Generator) -> set[int] | None:
    """The packed clips shown this epoch: at most ``cap`` of each speaker's, at random (None: all)."""
    if not cap:
        return None
    by_speaker: dict[str, list[int]] = {}
    for i in clip_indices:
        by_speaker.setdefault(data.clips[i].speaker or data.clips[i].corpus, []).append(i)
    return {int(i) for members in by_speaker.values()
            for i in (members if len(members) <= cap else rng.choice(members, size=cap, replace=False))}


def _epoch_samples(data: TrainingData, clip_indices: list[int], norm: AudioNormaliser,
                   settings: TrainSettings, rng: np.random.Generator) -> list[Sample]:
    labels = data.labels
    all_labels = np.ones(len(labels), bool)
    corpus_allowed = data.corpus_labels(clip_indices)
    text_sets = ("goemotions-train", "meld-train") if settings.use_text else ()
    sentences = [(name, i) for name in text_sets for i in range(len(data.text[name].sentences))]
    by_label = {name: data.text[name].by_label() for name in text_sets}
    emotional = [label for label in labels if label != "neutral"]
    samples: list[Sample] = []

    if settings.use_audio:
        shown = _speaker_draw(data, clip_indices, settings.clips_per_speaker, rng)
        for i in clip_indices:
            clip = data.clips[i]
            y = labels.index(clip.label)
            allowed = corpus_allowed[clip.corpus]
            packed = shown is None or i in shown  # a clip not drawn this epoch: its alone views only
            if packed:
                self_centred = settings.self_centred_rate and rng.random() < settings.self_centred_rate
                frames = norm.self_centred_clip(i) if self_centred else norm.clip(i)
                own = settings.use_text and clip.text and rng.random() < settings.own_transcript_rate
                text = np.asarray(data.clip_text[i], np.float32) if own else None
                samples.append(Sample(_augment(frames, settings, rng), text, y, CATEGORY_VAD[clip.label], allowed))
            if packed and settings.augment_rate and i in data.augmented and rng.random() < settings.augment_rate:
                own = settings.use_text and clip.text and rng.random() < settings.own_transcript_rate
                text = np.asarray(data.clip_text[i], np.float32) if own else None
                samples.append(Sample(_augment(norm.augmented_clip(i), settings, rng), text, y,
                                      CATEGORY_VAD[clip.label], allowed))
            if settings.alone_repeat and i in data.alone:  # the clip as render sees it alone
                alone = norm.alone_clip(i)
                for _ in range(settings.alone_repeat):
                    own = settings.use_text and clip.text and rng.random() < settings.own_transcript_rate
                    text = np.asarray(data.clip_text[i], np.float32) if own else None
                    samples.append(Sample(_augment(alone, settings, rng), text, y, CATEGORY_VAD[clip.label], allowed))
            if packed and settings.use_text and rng.random() < settings.pseudo_pair_rate:  # a label-congruent pseudo-pair
                name = "goemotions-train" if rng.random() < 0.7 else "meld-train"
                pool = by_label[name].get(clip.label)
                if pool:
                    j = pool[rng.integers(len(pool))]
                    tokens = np.asarray(data.text[name].tokens[j], np.float32)
                    samples.append(Sample(_augment(frames, settings, rng), tokens, y, CATEGORY_VAD[clip.label], allowed))
            if (packed and settings.use_text and clip.label == "neutral"
                    and rng.random() < settings.neutral_voice_pair_rate):  # flat voice, emotional words
                name = "goemotions-train" if rng.random() < 0.7 else "meld-train"
                label = emotional[rng.integers(len(emotional))]
                pool = by_label[name].get(label)
                if pool:
                    tokens = np.asarray(data.text[name].tokens[pool[rng.integers(len(pool))]], np.float32)
                    samples.append(Sample(_augment(frames, settings, rng), tokens, labels.index(label),
                                          CATEGORY_VAD[label], all_labels))

    if settings.use_text:
        # Sentences drawn with weights ∝ 1/√(class frequency): fewer "neutral", more "fear".
        counts: dict[str, int] = {}
        for name, i in sentences:
            label = data.text[name].sentences[i].label
            counts[label] = counts.get(label, 0) + 1
        weights = np.array([counts[data.text[n].sentences[i].label] ** -0.5 for n, i in sentences])
        picks = rng.choice(len(sentences), size=min(settings.sentences_per_epoch, len(sentences)),
                           replace=False, p=weights / weights.sum())
        for k in picks:
            name, i = sentences[k]
            s = data.text[name].sentences[i]
            samples.append(Sample(None, np.asarray(data.text[name].tokens[i], np.float32),
                                  labels.index(s.label), CATEGORY_VAD[s.label], all_labels))
        emobank = data.text["emobank"]
        train_rows = [i for i, s in enumerate(emobank.sentences) if s.split == "train"]
        for i in rng.choice(train_rows, size=min(len(train_rows), settings.sentences_per_epoch // 3), replace=False):
            samples.append(Sample(None, np.asarray(emobank.tokens[i], np.float32), None,
                                  emobank.sentences[i].vad, all_labels))
    rng.shuffle(samples)
    return samples


def _batches(samples: list[Sample], size: int, rng: np.random.Generator) -> list[list[Sample]]:
    """Batches of samples with audio, and batches of text-only samples slotted in at random places:
    a text-only batch then pads no audio frames (a third of an epoch's samples are sentences)."""
    with_audio = [s for s in samples if s.audio is not None]
    text_only = [s for s in samples if s.audio is None]
    audio_batches = [with_audio[b : b + size] for b in range(0, len(with_audio), size)]
    text_batches = [text_only[b : b + size] for b in range(0, len(text_only), size)]
    n = len(audio_batches) + len(text_batches)
    text_at = set(rng.choice(n, len(text_batches), replace=False).tolist()) if text_batches else set()
    audio_iter, text_iter = iter(audio_batches), iter(text_batches)
    return [next(text_iter) if i in text_at else next(audio_iter) for i in range(n)]


def train_head(data: TrainingData, clip_indices: list[int], settings: TrainSettings = TrainSettings(),
               progress: Callable[[int, int], None] | None = None) -> EmotionHead:
    """Train on the given clips (and the text corpora' train splits); return a ready head."""
    rng = _seed_everything(settings.seed)
    norm = AudioNormaliser.fit(data, clip_indices, settings.recording_mean_weight, settings.audio_layers,
                               settings.recording_mean_seconds)
    config = FusionConfig(labels=data.labels, audio_dim=len(norm.columns), audio_layers=len(settings.audio_layers),
                          layer_mix=settings.layer_mix, cross_attention=settings.cross_attention,
                          vad_guided=settings.vad_guided, gated=settings.gated)
    model = FusedEmotionModel(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    samples = _epoch_samples(data, clip_indices, norm, settings, rng)
    n_audio = sum(s.audio is not None for s in samples)
    total = (math.ceil(n_audio / settings.batch_size) + math.ceil((len(samples) - n_audio) / settings.batch_size)) * settings.epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=settings.learning_rate,
                                                    # 10% warm-up; at least two steps, or OneCycleLR
                                                    # divides by zero on a tiny run of 10 steps.
                                                    total_steps=total, pct_start=min(0.5, max(0.1, 2.0 / total)))
    step = 0
    model.train()
    for epoch in range(settings.epochs):
        if epoch:
            samples = _epoch_samples(data, clip_indices, norm, settings, rng)
        for chunk in _batches(samples, settings.batch_size, rng):
            batch = collate(chunk, config.text_dim, config.audio_dim)
            if settings.feature_noise:
                batch.audio += settings.feature_noise * torch.randn_like(batch.audio) * batch.audio_mask.unsqueeze(-1)
            out = model(batch.text, batch.text_mask, batch.audio, batch.audio_mask)
            loss = fusion_loss(out, batch.labels, batch.label_mask, batch.vad, batch.vad_mask, batch.allowed,
                               batch.paired, label_smoothing=settings.label_smoothing,
                               lambda_vad=settings.lambda_vad, lambda_micl=settings.lambda_micl)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            if step < total - 1:
                scheduler.step()
            step += 1
            if progress:
                progress(step, total)
    model.eval()
    metadata = HeadMetadata(
        version=VERSION, audio_encoder=data.audio_encoder, text_encoder=data.text_encoder,
        feature_convention=FEATURE_CONVENTION, window_seconds=WINDOW_SECONDS, hop_seconds=HOP_SECONDS,
        recording_mean_weight=settings.recording_mean_weight, audio_layers=tuple(settings.audio_layers),
        recording_mean_seconds=settings.recording_mean_seconds,
        extra={"settings": settings.__dict__},
    )
    return EmotionHead(model, metadata, norm.mean, norm.std)


# Settings added after heads were cached: at their default they leave the cache key as it was,
# so the heads trained before they existed are still found.
_LATER_DEFAULTS = {"self_centred_rate": 0.0, "clips_per_speaker": 0}


def _key_settings(settings: TrainSettings) -> list:
    return [(k, v) for k, v in sorted(settings.__dict__.items()) if _LATER_DEFAULTS.get(k, object()) != v]


def cached_train_head(data: TrainingData, clip_indices: list[int], settings: TrainSettings, cache_dir: Path | None,
                      progress: Callable[[int, int], None] | None = None) -> EmotionHead:
    """``train_head``, remembered on disk: training is seeded and deterministic, so a head trained
    on the same features, clips and settings is reused (the report's reruns cost seconds). An
    audio-only head does not depend on the text encoder, so its key leaves it out."""
    if cache_dir is None:
        return train_head(data, clip_indices, settings, progress)
    text_encoder = data.text_encoder if settings.use_text else None
    key = cache_key(VERSION, FEATURE_CONVENTION, data.audio_encoder, text_encoder, data.frame_layers,
                    data.frames.data.shape, sorted(clip_indices), _key_settings(settings),
                    *([sorted(set(data.alone) & set(clip_indices))] if settings.alone_repeat else []),
                    *([sorted(set(data.augmented) & set(clip_indices))] if settings.augment_rate else []))
    path = Path(cache_dir) / f"head-{key}.safetensors"
    if path.is_file():
        head = EmotionHead.load(path)
        head.metadata.text_encoder = data.text_encoder
        return head
    head = train_head(data, clip_indices, settings, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    head.save(path)  # atomic: a killed run leaves no half-written head
    return head
