"""What ``sentimentogram evaluate`` prints for a head on labelled clips, by protocol.

``product`` (the default) scores each clip as ``render`` would: alone, through the Analyser's
emotion stage (training.product_path); ``packed-speaker`` is the older protocol (a speaker's clips
packed into 30 s chunks and centred on that speaker's mean over all of them), kept as a second
column because it knows what render never does. ``--json`` writes each clip's scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..atomic import atomic_path
from ..devices import resolve_device
from ..emotion.head import EmotionHead
from ..errors import InputError, UsageError
from ..training.calibration import expected_calibration_error
from ..training.corpora import Clip
from ..training.evaluation import clip_inputs, score
from ..training.product_path import PROTOCOLS, ProductPath

__all__ = ["parse_protocols", "evaluate_protocols", "print_protocols", "write_clip_scores", "run_evaluate_clips"]


def parse_protocols(text: str) -> list[str]:
    """``product``, ``packed-speaker`` or both, comma-separated (the first is printed first)."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in names if p not in PROTOCOLS]
    if unknown or not names:
        raise UsageError(f"unknown protocol {', '.join(unknown) or repr(text)}: use {' or '.join(PROTOCOLS)}, "
                         f"or both comma-separated")
    return list(dict.fromkeys(names))


def _metrics(head: EmotionHead, probs: np.ndarray, labels: list[str]) -> dict:
    result = score(head, probs, labels)
    y = np.array([head.labels.index(label) for label in labels])
    result["ece"] = expected_calibration_error(probs, y)
    return result


def evaluate_protocols(head: EmotionHead, head_path: Path | None, clips: list[Clip], indices: list[int],
                       protocols: list[str], *, use_text: bool, asr: bool, asr_model: str, device: str,
                       cache_dir: Path, console: Console, frames=None, progress=None) -> dict:
    """Scores per protocol: metrics and each clip's probabilities. ``frames``: the packed frames
    (``TrainingData``) for ``packed-speaker``."""
    from ..emotion.features import AudioEncoder, TextEncoder

    device = resolve_device(device)
    labels = [clips[i].label for i in indices]
    out: dict[str, dict] = {}
    for protocol in protocols:
        if protocol == "product":
            analyser = None
            if asr:
                from ..analyser import Analyser

                analyser = Analyser(device=device, asr_model=asr_model, head=head_path)
            path = ProductPath(head, AudioEncoder(device=device, layers=head.metadata.audio_layers),
                               TextEncoder.for_head(head.metadata.text_encoder, device=device), cache_dir,
                               asr=asr, analyser=analyser)
            scores = path.clips(clips, indices, use_text=use_text, progress=progress)
            probs, gates = scores.probabilities, scores.gates
        else:
            if frames is None:
                raise InputError("packed-speaker needs the packed clip frames")
            inputs = clip_inputs(head, frames, indices, "own" if use_text else "none")
            predictions = head.predict(inputs.text, inputs.audio)
            probs, gates = predictions.probabilities, predictions.gates
        result = _metrics(head, probs, labels)
        result["mean_audio_gate"] = float(gates[:, 1].mean()) if len(gates) else 0.0
        result["probabilities"] = probs
        out[protocol] = result
    return out


def print_protocols(console: Console, title: str, results: dict) -> None:
    table = Table("", *results, title=escape(title))
    for key, name in (("ua", "UA"), ("wa", "WA"), ("macro_f1", "macro-F1"), ("ece", "ECE"),
                      ("mean_audio_gate", "mean audio gate"), ("n", "clips")):
        table.add_row(name, *[(f"{r[key]:.1%}" if key in ("ua", "wa") else str(r[key]) if key == "n"
                               else f"{r[key]:.3f}") for r in results.values()])
    console.print(table)
    first, result = next(iter(results.items()))
    matrix = Table("true \\ predicted", *result["labels"], title=f"confusion matrix ({first})")
    for label, row in zip(result["labels"], result["confusion"]):
        matrix.add_row(label, *map(str, row))
    console.print(matrix)


def write_clip_scores(path: Path, head: EmotionHead, clips: list[Clip], indices: list[int], results: dict) -> None:
    """One row per clip: path, label, and per protocol the predicted emotion and probabilities."""
    rows = []
    for k, i in enumerate(indices):
        row = {"path": str(clips[i].path), "label": clips[i].label, "speaker": clips[i].speaker}
        for protocol, result in results.items():
            p = result["probabilities"][k]
            row[protocol] = {"emotion": head.labels[int(np.argmax(p))],
                             "probabilities": {label: round(float(x), 4) for label, x in zip(head.labels, p)}}
        rows.append(row)
    summary = {protocol: {k: v for k, v in r.items() if k != "probabilities"} for protocol, r in results.items()}
    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps({"summary": summary, "clips": rows}, indent=1, default=float))


def run_evaluate_clips(labels_csv: Path | None, checkpoint: Path | None, data_dir: Path | None, cache_dir: Path,
                       device: str, console: Console, protocols: list[str], *, asr: bool = False,
                       asr_model: str | None = None, audio_only: bool = False, json_out: Path | None = None) -> dict:
    """``evaluate`` on a clip CSV (``--labels``) or on the held-out speakers of the shared corpora."""
    from ..assets import BUNDLED_ASR_MODEL
    from ..training.corpora import read_clips
    from .train_commands import _clip_data, _progress

    head = EmotionHead.load(checkpoint)
    if labels_csv is not None:
        csv_path = Path(labels_csv)
        if not csv_path.is_file():
            raise InputError(f"{csv_path}: no such file")
        clips = read_clips(csv_path)
        indices = list(range(len(clips)))
        title = str(csv_path)
    else:
        csv_path = Path(data_dir) / "emotional_speech" / "labels.csv"
        if not csv_path.is_file():
            raise InputError(f"{data_dir} has no emotional_speech/labels.csv: pass --data pointing at the shared data folder")
        clips = read_clips(csv_path)
        held = set(head.metadata.extra.get("held_out", ["ravdess-17", "ravdess-18", "ravdess-19", "ravdess-20"]))
        indices = [i for i, c in enumerate(clips) if c.speaker in held]
        title = "held-out speakers"
        if not indices:
            raise InputError(f"{csv_path} holds none of the head's held-out speakers")
    unknown = sorted({clips[i].label for i in indices} - set(head.labels))
    if unknown:
        raise InputError(f"{csv_path}: labels {', '.join(unknown)} are not among the head's {', '.join(head.labels)}")
    missing = [clips[i].path for i in indices if not clips[i].path.is_file()]
    if missing:
        raise InputError(f"{csv_path}: {len(missing)} clips are missing, e.g. {missing[0]}")
    use_text = not audio_only and (asr or any(clips[i].text for i in indices))
    frames = _clip_data(csv_path, head, cache_dir, device, console) if "packed-speaker" in protocols else None
    with _progress(console) as update:
        results = evaluate_protocols(head, checkpoint, clips, indices, protocols, use_text=use_text, asr=asr,
                                     asr_model=asr_model or BUNDLED_ASR_MODEL, device=device, cache_dir=cache_dir,
                                     console=console, frames=frames,
                                     progress=lambda d, n: update("clips through render's emotion stage", d, n))
    words = "Whisper's words" if asr else "the CSV's transcripts" if use_text else "audio only"
    print_protocols(console, f"{title} ({words}; {len(indices)} clips)", results)
    if json_out is not None:
        write_clip_scores(json_out, head, clips, indices, results)
        console.print(f"wrote {json_out}")
    return results
