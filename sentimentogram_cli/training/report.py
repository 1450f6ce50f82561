"""The model card's whole table in one run: layer selection, baselines, fusion pairs, calibration,
leave-one-corpus-out, text, VAD and speed.

Every model here is trained from the same cached features with the same seed, so the table is
reproducible. Choices (encoder layers, temperature) are made on validation speakers and
leave-one-corpus-out; test splits are only ever scored, never used to choose anything.

Nothing here prints: each table goes, as a ``ReportTable`` of strings, to the caller's ``show``
(the command line draws it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from ..constants import SAMPLE_RATE
from ..emotion.head import EmotionHead
from .data import TrainingData
from .evaluation import (calibrate, clip_inputs, head_speed, pair_inputs, score_clips, score_sentences,
                         score_vad)
from .probe import probe_table
from .train import TrainSettings

__all__ = ["TEST_SPEAKERS", "VALIDATION_SPEAKERS", "LAYER_CANDIDATES", "ReportTable", "Show",
           "select_audio_layers", "leave_one_corpus_out", "full_report"]

TEST_SPEAKERS = {f"ravdess-{a}" for a in (17, 18, 19, 20)}
# Model selection and calibration: four RAVDESS actors and five ASED speakers, never trained on.
VALIDATION_SPEAKERS = {f"ravdess-{a}" for a in (13, 14, 15, 16)} | {f"ased-{a}" for a in range(61, 66)}
CORPORA = ("ravdess", "tess", "nemo", "ased", "turev")
# Encoder layer sets the selection step compares (0 = after the convolutions, 6 = the last).
LAYER_CANDIDATES = {"layer 2": (2,), "layer 3": (3,), "layer 4": (4,), "layers 2–4": (2, 3, 4), "layers 1–4": (1, 2, 3, 4)}

Trainer = Callable[[list[int], TrainSettings, str], EmotionHead]


class ReportTable:
    """One table of the report as strings: ``title``, ``header`` and ``rows``."""

    def __init__(self, *header: str, title: str = ""):
        self.title, self.header = title, tuple(header)
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(tuple(cells))


# Where the report's tables and lines go (the command line prints them).
Show = Callable[[ReportTable | str], None]


def _indices(data: TrainingData, keep: Callable) -> list[int]:
    return [i for i, c in enumerate(data.clips) if keep(c)]


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _unseen(c) -> bool:
    return c.speaker not in TEST_SPEAKERS | VALIDATION_SPEAKERS


def select_audio_layers(data: TrainingData, show: Show) -> tuple[tuple[int, ...], dict]:
    """Choose the encoder layers by a linear probe on validation speakers and leave-one-corpus-out."""
    results = probe_table(data, LAYER_CANDIDATES, _indices(data, lambda c: c.speaker in VALIDATION_SPEAKERS),
                          _indices(data, _unseen), CORPORA, lambda i: data.clips[i].speaker not in TEST_SPEAKERS)
    table = ReportTable("encoder layers", "validation UA", *[f"LOCO {c}" for c in CORPORA], "LOCO mean", "score",
                  title="selection of encoder layers (linear probe on pooled frames; validation speakers, leave one corpus out)")
    for name, row in results.items():
        row["score"] = (row["validation_ua"] + row["loco_mean"]) / 2
        table.add_row(name, _pct(row["validation_ua"]), *[_pct(row["loco"][c]) for c in CORPORA],
                      _pct(row["loco_mean"]), _pct(row["score"]))
    show(table)
    best = max(results, key=lambda n: results[n]["score"])
    show(f"chosen: {best} (best mean of validation UA and leave-one-corpus-out mean UA)")
    return LAYER_CANDIDATES[best], results


def leave_one_corpus_out(data: TrainingData, settings: TrainSettings, train: Trainer, show: Show,
                         save_dir: Path | None = None) -> dict:
    """Audio-only heads trained without each corpus, scored on all of it; the temperature comes from
    the validation speakers of the other corpora. ``save_dir`` keeps each head (adaptation starts there)."""
    table = ReportTable("left-out corpus", "labels", "UA", "WA", "macro-F1", "ECE T=1", "ECE calibrated",
                  title="leave one corpus out (audio-only heads; temperature from the other corpora's validation speakers)")
    results = {}
    for corpus in CORPORA:
        head = train(_indices(data, lambda c: _unseen(c) and c.corpus != corpus), settings, f"without {corpus}")
        test = clip_inputs(head, data, _indices(data, lambda c: c.corpus == corpus))
        raw = score_clips(head, test, use_text=False)
        calibrate(head, clip_inputs(head, data, _indices(data, lambda c: c.speaker in VALIDATION_SPEAKERS and c.corpus != corpus)))
        scored = score_clips(head, test, use_text=False)
        scored["ece_before"] = raw["ece"]
        results[corpus] = scored
        if save_dir is not None:
            save_dir.mkdir(parents=True, exist_ok=True)
            head.save(save_dir / f"without-{corpus}.safetensors")
        table.add_row(corpus, str(len(scored["labels"])), _pct(scored["ua"]), _pct(scored["wa"]),
                      f"{scored['macro_f1']:.3f}", f"{raw['ece']:.3f}", f"{scored['ece']:.3f}")
    mean_ua = float(np.mean([r["ua"] for r in results.values()]))
    table.add_row("mean", "", _pct(mean_ua), "", "", "", "")
    show(table)
    return results


def _pair_row(head: EmotionHead, data: TrainingData, test_idx: list[int], data_sentences, use_audio: bool,
              use_text: bool) -> dict:
    row = {"congruent": score_clips(head, clip_inputs(head, data, test_idx, "congruent", data_sentences),
                                    use_audio=use_audio, use_text=use_text)}
    for kind in ("neutral voice", "neutral words"):
        row[kind] = score_clips(head, pair_inputs(head, data, test_idx, data_sentences, kind),
                                use_audio=use_audio, use_text=use_text)
    return row


def fusion_table(data: TrainingData, heads: dict[str, tuple[EmotionHead, bool, bool]], show: Show,
                 test_idx: list[int]) -> dict:
    """Each model (head, uses audio, uses text) on the test actors, the pairs and the text test sets."""
    sentences = data.text["goemotions-test"]
    table = ReportTable("model", "actors 17–20 audio UA", "congruent", "neutral voice + emotional words",
                  "emotional voice + neutral words", "MELD test wF1 · UA", "GoEmotions test macro-F1",
                  title="fusion: accuracy · mean text gate on pairs of held-out actors and GoEmotions test sentences")
    results = {}
    for name, (head, use_audio, use_text) in heads.items():
        row = _pair_row(head, data, test_idx, sentences, use_audio, use_text)
        if use_audio:
            row["audio"] = score_clips(head, clip_inputs(head, data, test_idx), use_text=False)
        if use_text:
            row["meld"] = score_sentences(head, data.text["meld-test"])
            row["goemotions"] = score_sentences(head, sentences)
        results[name] = row

        def pair(key):
            return f"{row[key]['wa']:.1%} · {row[key]['mean_text_gate']:.2f}"

        table.add_row(name, _pct(row["audio"]["ua"]) if "audio" in row else "—", pair("congruent"),
                      pair("neutral voice"), pair("neutral words"),
                      f"{row['meld']['weighted_f1']:.3f} · {_pct(row['meld']['ua'])}" if "meld" in row else "—",
                      f"{row['goemotions']['macro_f1']:.3f}" if "goemotions" in row else "—")
    show(table)
    return results


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


def full_report(data: TrainingData, settings: TrainSettings, show: Show, train: Trainer,
                out: Path = Path("reports/emotion_head.json"), loco_epochs: int = 2, baselines: bool = False,
                save_full_model: Path | None = None, heads_dir: Path | None = None) -> dict:
    """Every figure of the model card. The layer choice and the temperature come from validation
    speakers and leave-one-corpus-out; the test actors are only scored. ``baselines`` also trains
    audio-only, text-only and concatenation heads (long on a CPU)."""
    layers, selection = select_audio_layers(data, show)
    settings = settings.variant(audio_layers=layers, layer_mix="concat")
    result: dict = {"selection": selection, "audio_layers": list(layers)}
    result["leave_one_corpus_out"] = leave_one_corpus_out(
        data, settings.variant(use_text=False, epochs=loco_epochs), train, show,
        heads_dir / "loco" if heads_dir else None)
    train_idx = _indices(data, _unseen)
    test_idx = _indices(data, lambda c: c.speaker in TEST_SPEAKERS)
    val_idx = _indices(data, lambda c: c.speaker in VALIDATION_SPEAKERS)

    full = train(train_idx, settings, "full model")
    calibration = calibrate(full, clip_inputs(full, data, val_idx))
    calibration["validation_ua"] = score_clips(full, clip_inputs(full, data, val_idx), use_text=False)["ua"]
    calibration["test_ece_before"] = score_clips(_with_temperature(full, 1.0), clip_inputs(full, data, test_idx),
                                                 use_text=False)["ece"]
    result["calibration"] = calibration
    if save_full_model is not None:
        full.metadata.extra["held_out"] = sorted(TEST_SPEAKERS | VALIDATION_SPEAKERS)
        full.save(save_full_model)
    models = {"full model": (full, True, True), "full model, audio input only": (full, True, False),
              "full model, text input only": (full, False, True)}
    if baselines:
        for name, variant, audio, text in (("audio-only head", settings.variant(use_text=False), True, False),
                                           ("text-only head", settings.variant(use_audio=False), False, True),
                                           ("concatenation", settings.variant(cross_attention=False, gated=False), True, True)):
            models[name] = (train(train_idx, variant, name), audio, text)
    result["models"] = fusion_table(data, models, show, test_idx)
    audio = result["full_model_audio"] = result["models"]["full model"]["audio"]
    calibration["test_ece_after"] = audio["ece"]
    confusion = ReportTable("true \\ predicted", *audio["labels"], title=f"full model, actors 17–20, audio only: "
                      f"UA {_pct(audio['ua'])} WA {_pct(audio['wa'])} macro-F1 {audio['macro_f1']:.3f}")
    for label, counts in zip(audio["labels"], audio["confusion"]):
        confusion.add_row(label, *map(str, counts))
    show(confusion)

    result["vad"] = score_vad(full, data.text["emobank"], "test", clip_inputs(full, data, test_idx))
    result["speed"] = inference_speed(full, data, test_idx)
    other = ReportTable("figure", "value", title="calibration (full model), valence/arousal and inference cost (2 CPU threads)")
    for key, value in {**calibration, **result["vad"], **result["speed"]}.items():
        other.add_row(key, f"{value:.1f}" if key.endswith("_per_s") else f"{value:.3f}")
    show(other)

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    show(f"wrote {out}")
    return result


def _with_temperature(head: EmotionHead, temperature: float) -> EmotionHead:
    """The same weights with another temperature (to score calibration before and after)."""
    metadata = replace(head.metadata, temperature=temperature)
    return EmotionHead(head.model, metadata, head.audio_mean, head.audio_std, head.device)
