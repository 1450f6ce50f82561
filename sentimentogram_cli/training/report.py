"""The model card's whole table in one run: selection, baselines, robustness, text, VAD, speed.

Every model here is trained from the same cached features with the same seed, so the table is
reproducible; test splits are only ever scored, never used to choose anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from ..constants import SAMPLE_RATE
from ..emotion.head import EmotionHead
from .data import TrainingData
from .evaluation import clip_inputs, head_speed, score_clips, score_sentences, score_vad
from .train import TrainSettings

__all__ = ["TEST_SPEAKERS", "VALIDATION_SPEAKERS", "full_report"]

TEST_SPEAKERS = {f"ravdess-{a}" for a in (17, 18, 19, 20)}
VALIDATION_SPEAKERS = {f"ravdess-{a}" for a in (13, 14, 15, 16)}
CORPORA = ("ravdess", "tess", "nemo", "ased", "turev")

Trainer = Callable[[list[int], TrainSettings, str], EmotionHead]


def _indices(data: TrainingData, keep: Callable) -> list[int]:
    return [i for i, c in enumerate(data.clips) if keep(c)]


def _pct(x: float) -> str:
    return f"{x:.1%}"


def select_recording_weight(data: TrainingData, settings: TrainSettings, train: Trainer, console: Console) -> float:
    """Choose the per-recording normalisation weight on validation actors 13–16 (not the test actors)."""
    train_idx = _indices(data, lambda c: c.speaker not in TEST_SPEAKERS | VALIDATION_SPEAKERS)
    val_idx = _indices(data, lambda c: c.speaker in VALIDATION_SPEAKERS)
    table = Table("recording mean weight", "validation UA (RAVDESS 13–16, audio only)", title="model selection")
    scores = {}
    for weight in (0.0, 0.5):
        head = train(train_idx, settings.variant(recording_mean_weight=weight), f"selection w={weight}")
        scores[weight] = score_clips(head, clip_inputs(head, data, val_idx), use_text=False)["ua"]
        table.add_row(str(weight), _pct(scores[weight]))
    console.print(table)
    return max(scores, key=scores.get)


def inference_speed(head: EmotionHead, data: TrainingData, test_idx: list[int]) -> dict:
    """Windows per second: the head alone, and encoders + head on 30 s of held-out speech."""
    from ..emotion.features import AudioEncoder, TextEncoder, frames_for_span
    from .corpora import load_clip_audio

    inputs = clip_inputs(head, data, test_idx, "own")
    audio = np.concatenate([load_clip_audio(data.clips[i].path) for i in test_idx[:9]])[: 30 * SAMPLE_RATE]
    audio_encoder, text_encoder = AudioEncoder(), TextEncoder()
    texts = [data.clips[i].text for i in test_idx[:28]]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        frames = head.normalise_recording(audio_encoder.encode(audio))
        windows = [frames_for_span(frames, s, s + 3.0) for s in range(28)]
        head.predict(text_encoder.embed(texts), windows)
        times.append(time.perf_counter() - start)
    return {"head_windows_per_s": head_speed(head, inputs), "pipeline_windows_per_s": 28 / float(np.median(times))}


def full_report(data: TrainingData, settings: TrainSettings, console: Console, train: Trainer,
                out: Path = Path("reports/emotion_head.json"), recording_weight: float | None = None,
                save_full_model: Path | None = None) -> dict:
    """Train and score every model of the table; ``recording_weight`` skips the selection step."""
    weight = select_recording_weight(data, settings, train, console) if recording_weight is None else recording_weight
    settings = settings.variant(recording_mean_weight=weight)
    train_idx = _indices(data, lambda c: c.speaker not in TEST_SPEAKERS)
    test_idx = _indices(data, lambda c: c.speaker in TEST_SPEAKERS)
    sentences = data.text["goemotions-test"]
    variants = {
        "audio only": settings.variant(use_text=False),
        "text only": settings.variant(use_audio=False),
        "concatenation": settings.variant(cross_attention=False, gated=False),
        "plain cross-attention": settings.variant(vad_guided=False),
        "full without MICL": settings.variant(lambda_micl=0.0),
        "full model": settings,
    }
    result: dict = {"recording_mean_weight": weight, "variants": {}}
    table = Table("model", "held-out actors: audio UA", "congruent pairs UA", "MELD test wF1", "MELD test UA",
                  "GoEmotions test macro-F1", title="baselines, trained and tested in this run (RAVDESS actors 17–20 held out)")
    heads = {}
    for name, variant in variants.items():
        head = heads[name] = train(train_idx, variant, name)
        row = {}
        if variant.use_audio:
            row["audio"] = score_clips(head, clip_inputs(head, data, test_idx), use_text=False)
        if variant.use_text:
            row["meld"] = score_sentences(head, data.text["meld-test"])
            row["goemotions"] = score_sentences(head, sentences)
        row["congruent"] = score_clips(head, clip_inputs(head, data, test_idx, "congruent", sentences),
                                       use_audio=variant.use_audio, use_text=variant.use_text)
        result["variants"][name] = row
        get = lambda key, metric: _pct(row[key][metric]) if key in row else "—"  # noqa: E731
        table.add_row(name, get("audio", "ua"), get("congruent", "ua"), f"{row['meld']['weighted_f1']:.3f}" if "meld" in row else "—",
                      get("meld", "ua"), f"{row['goemotions']['macro_f1']:.3f}" if "goemotions" in row else "—")
    console.print(table)

    full = heads["full model"]
    if save_full_model is not None:
        full.metadata.extra["held_out"] = sorted(TEST_SPEAKERS)
        full.save(save_full_model)
    audio = result["variants"]["full model"]["audio"]
    result["full_model_audio"] = audio
    confusion = Table("true \\ predicted", *audio["labels"], title=f"full model, held-out actors, audio only: "
                      f"UA {_pct(audio['ua'])} WA {_pct(audio['wa'])} macro-F1 {audio['macro_f1']:.3f}")
    for label, counts in zip(audio["labels"], audio["confusion"]):
        confusion.add_row(label, *map(str, counts))
    console.print(confusion)

    loco = Table("left-out corpus", "labels", "UA", "WA", "macro-F1", title="leave one corpus out (audio only)")
    result["leave_one_corpus_out"] = {}
    for corpus in CORPORA:
        head = train(_indices(data, lambda c: c.corpus != corpus), settings, f"without {corpus}")
        scored = score_clips(head, clip_inputs(head, data, _indices(data, lambda c: c.corpus == corpus)), use_text=False)
        result["leave_one_corpus_out"][corpus] = scored
        loco.add_row(corpus, str(len(scored["labels"])), _pct(scored["ua"]), _pct(scored["wa"]), f"{scored['macro_f1']:.3f}")
    mean_ua = float(np.mean([r["ua"] for r in result["leave_one_corpus_out"].values()]))
    loco.add_row("mean", "", _pct(mean_ua), "", "")
    console.print(loco)

    result["vad"] = score_vad(full, data.text["emobank"], "test", clip_inputs(full, data, test_idx))
    result["speed"] = inference_speed(full, data, test_idx)
    other = Table("figure", "value", title="valence/arousal and inference cost (2 CPU threads)")
    for key, value in {**result["vad"], **result["speed"]}.items():
        other.add_row(key, f"{value:.3f}" if key.endswith("_r") else f"{value:.1f}")
    console.print(other)

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    console.print(f"wrote {out}")
    return result
