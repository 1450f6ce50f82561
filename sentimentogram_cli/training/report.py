"""The model card's whole table in one run: layer selection, baselines, fusion pairs, calibration,
leave-one-corpus-out, text, VAD and speed.

Every model here is trained from the same cached features with the same seed, so the table is
reproducible. Choices (encoder layers, temperature) are made on validation speakers and
leave-one-corpus-out; test splits are only ever scored, never used to choose anything.
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
from .evaluation import (calibrate, clip_inputs, head_speed, pair_inputs, score_clips, score_sentences,
                         score_vad)
from .train import TrainSettings

__all__ = ["TEST_SPEAKERS", "VALIDATION_SPEAKERS", "LAYER_CANDIDATES", "full_report"]

TEST_SPEAKERS = {f"ravdess-{a}" for a in (17, 18, 19, 20)}
# Model selection and calibration: four RAVDESS actors and five ASED speakers, never trained on.
VALIDATION_SPEAKERS = {f"ravdess-{a}" for a in (13, 14, 15, 16)} | {f"ased-{a}" for a in range(61, 66)}
CORPORA = ("ravdess", "tess", "nemo", "ased", "turev")
# (name, encoder layers, mix) compared by the selection step.
LAYER_CANDIDATES = (
    ("layer 2", (2,), "concat"),
    ("layers 2–4 concatenated", (2, 3, 4), "concat"),
    ("layers 1–4 weighted sum", (1, 2, 3, 4), "weighted"),
)

Trainer = Callable[[list[int], TrainSettings, str], EmotionHead]


def _indices(data: TrainingData, keep: Callable) -> list[int]:
    return [i for i, c in enumerate(data.clips) if keep(c)]


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _unseen(c) -> bool:
    return c.speaker not in TEST_SPEAKERS | VALIDATION_SPEAKERS


def select_audio_layers(data: TrainingData, settings: TrainSettings, train: Trainer, console: Console,
                        selection_epochs: int) -> tuple[tuple[int, ...], str, dict]:
    """Choose the encoder layers on validation speakers and leave-one-corpus-out (audio-only heads)."""
    val_idx = _indices(data, lambda c: c.speaker in VALIDATION_SPEAKERS)
    table = Table("audio features", "validation UA", *[f"LOCO {c}" for c in CORPORA], "LOCO mean", "score",
                  title="selection of encoder layers (audio-only heads; validation speakers, leave one corpus out)")
    results = {}
    for name, layers, mix in LAYER_CANDIDATES:
        variant = settings.variant(audio_layers=layers, layer_mix=mix, use_text=False, epochs=selection_epochs)
        head = train(_indices(data, _unseen), variant, f"select {name}")
        row = {"validation_ua": score_clips(head, clip_inputs(head, data, val_idx), use_text=False)["ua"], "loco": {}}
        weights = head.model.layer_weights()
        if weights is not None:
            row["layer_weights"] = dict(zip(layers, weights.tolist()))
        for corpus in CORPORA:
            loco_head = train(_indices(data, lambda c: _unseen(c) and c.corpus != corpus), variant, f"select {name} −{corpus}")
            test = _indices(data, lambda c: c.corpus == corpus and c.speaker not in TEST_SPEAKERS)
            row["loco"][corpus] = score_clips(loco_head, clip_inputs(loco_head, data, test), use_text=False)["ua"]
        row["loco_mean"] = float(np.mean(list(row["loco"].values())))
        row["score"] = (row["validation_ua"] + row["loco_mean"]) / 2
        results[name] = row
        table.add_row(name, _pct(row["validation_ua"]), *[_pct(row["loco"][c]) for c in CORPORA],
                      _pct(row["loco_mean"]), _pct(row["score"]))
    console.print(table)
    best = max(results, key=lambda n: results[n]["score"])
    _, layers, mix = next(c for c in LAYER_CANDIDATES if c[0] == best)
    console.print(f"chosen: {best} (best mean of validation UA and leave-one-corpus-out mean UA)")
    return layers, mix, results


def _pair_row(head: EmotionHead, data: TrainingData, test_idx: list[int], data_sentences, use_audio: bool,
              use_text: bool) -> dict:
    row = {"congruent": score_clips(head, clip_inputs(head, data, test_idx, "congruent", data_sentences),
                                    use_audio=use_audio, use_text=use_text)}
    for kind in ("neutral voice", "neutral words"):
        row[kind] = score_clips(head, pair_inputs(head, data, test_idx, data_sentences, kind),
                                use_audio=use_audio, use_text=use_text)
    return row


def baselines(data: TrainingData, settings: TrainSettings, train: Trainer, console: Console,
              train_idx: list[int], test_idx: list[int]) -> tuple[dict, dict[str, EmotionHead]]:
    sentences = data.text["goemotions-test"]
    variants = {
        "audio only": settings.variant(use_text=False),
        "text only": settings.variant(use_audio=False),
        "concatenation": settings.variant(cross_attention=False, gated=False),
        "plain cross-attention": settings.variant(vad_guided=False),
        "full model": settings,
    }
    table = Table("model", "actors 17–20 audio UA", "congruent", "neutral voice + emotional words",
                  "emotional voice + neutral words", "MELD test wF1", "GoEmotions test macro-F1",
                  title="baselines, trained and tested in this run (pairs: accuracy, mean text gate)")
    results, heads = {}, {}
    for name, variant in variants.items():
        head = heads[name] = train(train_idx, variant, name)
        row = _pair_row(head, data, test_idx, sentences, variant.use_audio, variant.use_text)
        if variant.use_audio:
            row["audio"] = score_clips(head, clip_inputs(head, data, test_idx), use_text=False)
        if variant.use_text:
            row["meld"] = score_sentences(head, data.text["meld-test"])
            row["goemotions"] = score_sentences(head, sentences)
        results[name] = row

        def pair(key):
            return f"{row[key]['wa']:.1%} · {row[key]['mean_text_gate']:.2f}"

        table.add_row(name, _pct(row["audio"]["ua"]) if "audio" in row else "—", pair("congruent"),
                      pair("neutral voice"), pair("neutral words"),
                      f"{row['meld']['weighted_f1']:.3f}" if "meld" in row else "—",
                      f"{row['goemotions']['macro_f1']:.3f}" if "goemotions" in row else "—")
    console.print(table)
    return results, heads


def inference_speed(head: EmotionHead, data: TrainingData, test_idx: list[int]) -> dict:
    """Windows per second: the head alone, and encoders + head on 30 s of held-out speech."""
    from ..emotion.features import AudioEncoder, TextEncoder, frames_for_span
    from .corpora import load_clip_audio

    inputs = clip_inputs(head, data, test_idx, "own")
    audio = np.concatenate([load_clip_audio(data.clips[i].path) for i in test_idx[:9]])[: 30 * SAMPLE_RATE]
    audio_encoder = AudioEncoder(layers=head.metadata.audio_layers)
    text_encoder = TextEncoder(delta=data.text_delta)
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
                out: Path = Path("reports/emotion_head.json"), selection_epochs: int = 3,
                save_full_model: Path | None = None) -> dict:
    """Train and score every model of the table; the layer choice and temperature come from
    validation speakers and leave-one-corpus-out, the test actors are only scored."""
    layers, mix, selection = select_audio_layers(data, settings, train, console, selection_epochs)
    settings = settings.variant(audio_layers=layers, layer_mix=mix)
    train_idx = _indices(data, _unseen)
    test_idx = _indices(data, lambda c: c.speaker in TEST_SPEAKERS)
    val_idx = _indices(data, lambda c: c.speaker in VALIDATION_SPEAKERS)
    result: dict = {"selection": selection, "audio_layers": list(layers), "layer_mix": mix}
    result["variants"], heads = baselines(data, settings, train, console, train_idx, test_idx)

    full = heads["full model"]
    calibration = calibrate(full, clip_inputs(full, data, val_idx))
    test_after = score_clips(full, clip_inputs(full, data, test_idx), use_text=False)
    calibration["test_ece_before"] = result["variants"]["full model"]["audio"]["ece"]
    calibration["test_ece_after"] = test_after["ece"]
    result["calibration"] = calibration
    if save_full_model is not None:
        full.metadata.extra["held_out"] = sorted(TEST_SPEAKERS | VALIDATION_SPEAKERS)
        full.save(save_full_model)
    audio = result["full_model_audio"] = test_after
    confusion = Table("true \\ predicted", *audio["labels"], title=f"full model, actors 17–20, audio only: "
                      f"UA {_pct(audio['ua'])} WA {_pct(audio['wa'])} macro-F1 {audio['macro_f1']:.3f}")
    for label, counts in zip(audio["labels"], audio["confusion"]):
        confusion.add_row(label, *map(str, counts))
    console.print(confusion)

    loco = Table("left-out corpus", "labels", "UA", "WA", "macro-F1", "ECE T=1", "ECE calibrated",
                 title="leave one corpus out (full model, audio only; temperature from validation speakers of the other corpora)")
    result["leave_one_corpus_out"] = {}
    for corpus in CORPORA:
        head = train(_indices(data, lambda c: _unseen(c) and c.corpus != corpus), settings, f"without {corpus}")
        raw = score_clips(head, clip_inputs(head, data, _indices(data, lambda c: c.corpus == corpus)), use_text=False)
        calibrate(head, clip_inputs(head, data, _indices(data, lambda c: c.speaker in VALIDATION_SPEAKERS and c.corpus != corpus)))
        scored = score_clips(head, clip_inputs(head, data, _indices(data, lambda c: c.corpus == corpus)), use_text=False)
        scored["ece_before"] = raw["ece"]
        result["leave_one_corpus_out"][corpus] = scored
        loco.add_row(corpus, str(len(scored["labels"])), _pct(scored["ua"]), _pct(scored["wa"]),
                     f"{scored['macro_f1']:.3f}", f"{raw['ece']:.3f}", f"{scored['ece']:.3f}")
    mean_ua = float(np.mean([r["ua"] for r in result["leave_one_corpus_out"].values()]))
    loco.add_row("mean", "", _pct(mean_ua), "", "", "", "")
    console.print(loco)

    result["vad"] = score_vad(full, data.text["emobank"], "test", clip_inputs(full, data, test_idx))
    result["speed"] = inference_speed(full, data, test_idx)
    other = Table("figure", "value", title="calibration, valence/arousal and inference cost (2 CPU threads)")
    for key, value in {**calibration, **result["vad"], **result["speed"]}.items():
        other.add_row(key, f"{value:.1f}" if key.endswith("_per_s") else f"{value:.3f}")
    console.print(other)

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    console.print(f"wrote {out}")
    return result
