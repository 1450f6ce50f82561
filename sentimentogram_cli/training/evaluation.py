"""Scoring a head on held-out clips, sentences and congruent pairs."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..emotion.head import EmotionHead
from .data import AudioNormaliser, SentenceSet, TrainingData
from .calibration import expected_calibration_error, fit_temperature, softmax
from .metrics import classification_metrics, pearson
from .samples import crop_frames

__all__ = ["ClipInputs", "clip_inputs", "pair_inputs", "calibrate", "score", "score_clips", "score_sentences", "score_vad",
           "head_speed"]


@dataclass
class ClipInputs:
    audio: list[np.ndarray | None]
    text: list[np.ndarray | None]
    labels: list[str]


def clip_inputs(head: EmotionHead, data: TrainingData, indices: list[int], text: str = "none",
                sentences: SentenceSet | None = None, seed: int = 0) -> ClipInputs:
    """Window-length centre crops of held-out clips, normalised as at render time.

    text: "none" (audio only), "own" (the clip's transcript) or "congruent" (a held-out sentence
    with the clip's label, from ``sentences``).
    """
    norm = AudioNormaliser(data, head.audio_mean, head.audio_std, head.metadata.recording_mean_weight,
                           head.metadata.audio_layers, head.metadata.recording_mean_seconds, only=list(indices))
    rng = np.random.default_rng(seed)
    by_label = sentences.by_label() if sentences is not None else {}
    audio, tokens, labels = [], [], []
    for i in indices:
        clip = data.clips[i]
        audio.append(crop_frames(norm.clip(i), None))
        if text == "own" and clip.text:
            tokens.append(np.asarray(data.clip_text[i], np.float32))
        elif text == "congruent" and by_label.get(clip.label):
            pool = by_label[clip.label]
            tokens.append(np.asarray(sentences.tokens[pool[rng.integers(len(pool))]], np.float32))
        else:
            tokens.append(None)
        labels.append(clip.label)
    return ClipInputs(audio, tokens, labels)


def pair_inputs(head: EmotionHead, data: TrainingData, indices: list[int], sentences: SentenceSet, kind: str,
                seed: int = 0) -> ClipInputs:
    """Incongruent pairs of held-out clips and test sentences, labelled by the emotional side.

    kind "neutral voice": each neutral clip with a sentence of another emotion (label: the
    sentence's); "neutral words": each emotional clip with a neutral sentence (label: the clip's).
    """
    rng = np.random.default_rng(seed)
    by_label = sentences.by_label()
    emotional = [label for label in head.labels if label != "neutral" and by_label.get(label)]
    base = clip_inputs(head, data, indices, "none")
    audio, tokens, labels = [], [], []
    for frames, i in zip(base.audio, indices):
        clip_label = data.clips[i].label
        if kind == "neutral voice" and clip_label == "neutral":
            label = emotional[rng.integers(len(emotional))]
        elif kind == "neutral words" and clip_label != "neutral" and by_label.get("neutral"):
            label = "neutral"
        else:
            continue
        pool = by_label[label]
        audio.append(frames)
        tokens.append(np.asarray(sentences.tokens[pool[rng.integers(len(pool))]], np.float32))
        labels.append(label if kind == "neutral voice" else clip_label)
    return ClipInputs(audio, tokens, labels)


def score(head: EmotionHead, probabilities: np.ndarray, labels: list[str]) -> dict:
    """Metrics with the argmax restricted to the labels present in ``labels``."""
    present = sorted({head.labels.index(label) for label in labels})
    restricted = np.full_like(probabilities, -np.inf)
    restricted[:, present] = probabilities[:, present]
    y_true = np.array([head.labels.index(label) for label in labels])
    result = classification_metrics(y_true, restricted.argmax(axis=1), present)
    result["labels"] = [head.labels[c] for c in present]
    return result


def score_clips(head: EmotionHead, inputs: ClipInputs, use_audio: bool = True, use_text: bool = True) -> dict:
    audio = inputs.audio if use_audio else [None] * len(inputs.audio)
    text = inputs.text if use_text else [None] * len(inputs.text)
    predictions = head.predict(text, audio)
    result = score(head, predictions.probabilities, inputs.labels)
    result["mean_audio_gate"] = float(predictions.gates[:, 1].mean()) if len(predictions.gates) else 0.0
    result["mean_text_gate"] = float(predictions.gates[:, 0].mean()) if len(predictions.gates) else 0.0
    y = np.array([head.labels.index(label) for label in inputs.labels])
    result["ece"] = expected_calibration_error(predictions.probabilities, y)
    return result


def calibrate(head: EmotionHead, inputs: ClipInputs) -> dict:
    """Fit the head's temperature on validation clips (in place); ECE before and after there."""
    predictions = head.predict(inputs.text, inputs.audio)
    y = np.array([head.labels.index(label) for label in inputs.labels])
    raw = softmax(predictions.logits)
    head.metadata.temperature = fit_temperature(predictions.logits, y)
    return {"temperature": head.metadata.temperature, "ece_before": expected_calibration_error(raw, y),
            "ece_after": expected_calibration_error(softmax(predictions.logits, head.metadata.temperature), y)}


def score_sentences(head: EmotionHead, sentences: SentenceSet) -> dict:
    rows = [i for i, s in enumerate(sentences.sentences) if s.label is not None]
    tokens = [np.asarray(sentences.tokens[i], np.float32) for i in rows]
    predictions = head.predict(tokens, [None] * len(tokens))
    return score(head, predictions.probabilities, [sentences.sentences[i].label for i in rows])


def score_vad(head: EmotionHead, sentences: SentenceSet, split: str, inputs: ClipInputs) -> dict:
    """Pearson r of predicted valence/arousal against EmoBank ratings and category targets of clips."""
    from ..constants import CATEGORY_VAD

    rows = [i for i, s in enumerate(sentences.sentences) if s.split == split and s.vad is not None]
    text_pred = head.predict([np.asarray(sentences.tokens[i], np.float32) for i in rows], [None] * len(rows)).vad
    text_true = np.array([sentences.sentences[i].vad for i in rows])
    clip_pred = head.predict([None] * len(inputs.audio), inputs.audio).vad
    clip_true = np.array([CATEGORY_VAD[label] for label in inputs.labels])
    return {
        "emobank_valence_r": pearson(text_pred[:, 0], text_true[:, 0]),
        "emobank_arousal_r": pearson(text_pred[:, 1], text_true[:, 1]),
        "clips_valence_r": pearson(clip_pred[:, 0], clip_true[:, 0]),
        "clips_arousal_r": pearson(clip_pred[:, 1], clip_true[:, 1]),
    }


def head_speed(head: EmotionHead, inputs: ClipInputs, repeats: int = 3) -> float:
    """Windows per second through the head alone (median of ``repeats`` runs)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        head.predict(inputs.text, inputs.audio)
        times.append(time.perf_counter() - start)
    return len(inputs.audio) / float(np.median(times))
