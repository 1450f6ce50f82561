"""What ``sentimentogram train --finetune my_clips/labels.csv`` does: check the user's clip CSV,
encode its clips once (cached), choose how many epochs on held-out clips (whole speakers where the
folder has several; cross-validated when it is small: ``finetune_select.py``), fine-tune on every
labelled clip for that long (the written head keeps every label of the starting head, adds the
user's new ones, and lies ``interpolation`` of the way from the starting weights to the fine-tuned
ones), keep the starting head's temperature, print the held-out UA before
and after, and write the adapted head atomically.

Kept apart from ``commands.py`` (the shared-corpora training and evaluation) because it reads
only the user's CSV: nothing from the training corpora, which a user does not have.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from rich.console import Console

from ..atomic import atomic_path
from ..devices import resolve_device
from ..emotion.head import EmotionHead
from ..errors import InputError, OutputError
from ..training.corpora import Clip, canonical_label
from ..training.data import TrainingData
from ..training.finetune import FinetuneSettings, adapted_labels
from ..training.finetune_select import Selection, clip_folds, finetune_selected

__all__ = ["CSV_COLUMNS", "read_user_clips", "encode_user_clips", "run_finetune"]

# The shared clip CSV format: path and label required (label may be empty: an unlabelled clip).
CSV_COLUMNS = ("path", "label", "text", "speaker", "corpus", "language", "original_label")


def read_user_clips(labels_csv: Path) -> list[Clip]:
    """The clips of a CSV in the shared format, checked: required columns, no unknown column (a
    misspelt ``speaker`` would silently make one speaker), every file present."""
    labels_csv = Path(labels_csv)
    if not labels_csv.is_file():
        raise InputError(f"{labels_csv}: no such file")
    try:
        with labels_csv.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{labels_csv}: not a CSV file ({exc})") from exc
    missing = [c for c in ("path", "label") if c not in columns]
    if missing:
        raise InputError(f"{labels_csv}: no {' or '.join(missing)} column (the columns are path, label, and "
                         f"optionally text and speaker)")
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        raise InputError(f"{labels_csv}: unknown column {', '.join(map(repr, unknown))} (known: {', '.join(CSV_COLUMNS)})")
    root = labels_csv.parent
    clips = []
    for row in rows:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not row.get("path"):
            continue
        clips.append(Clip(path=root / row["path"], label=canonical_label(row["label"]) if row["label"] else "",
                          corpus=row.get("corpus") or root.name, speaker=row.get("speaker", ""),
                          language=row.get("language", ""), text=row.get("text", "")))
    if not any(c.label for c in clips):
        raise InputError(f"{labels_csv}: no labelled clip")
    absent = [c.path for c in clips if not c.path.is_file()]
    if absent:
        raise InputError(f"{labels_csv}: {len(absent)} clip file(s) missing, e.g. {absent[0]}")
    return clips


def encode_user_clips(clips: list[Clip], head: EmotionHead, cache_dir: Path, device: str,
                      progress=None) -> TrainingData:
    """The clips' Whisper-layer frames (the head's layers) and transcript tokens, cached."""
    from ..emotion.features import AudioEncoder, TextEncoder
    from ..training.extract import clip_frames, text_tokens

    audio_encoder = AudioEncoder(device=device, layers=head.metadata.audio_layers)
    if head.metadata.audio_encoder != audio_encoder.identity:
        raise InputError(f"the head expects audio encoder {head.metadata.audio_encoder}, not {audio_encoder.identity}")
    frames = clip_frames(clips, audio_encoder, cache_dir, progress)
    if any(c.text for c in clips):
        text_encoder = TextEncoder.for_head(head.metadata.text_encoder, device=device)
        tokens = text_tokens([c.text for c in clips], text_encoder, cache_dir, "user-clips")
    else:
        tokens = None
    return TrainingData(clips, frames, tokens or [], {}, audio_encoder.identity, head.metadata.text_encoder,
                        head.labels, frame_layers=audio_encoder.layers)


def run_finetune(labels_csv: Path, out: Path, head_path: Path | None, cache_dir: Path, settings: FinetuneSettings,
                 device: str, console: Console) -> Selection:
    clips = read_user_clips(labels_csv)
    labelled = [i for i, c in enumerate(clips) if c.label]
    clip_folds(clips, labelled, settings.validation_share, settings.seed)  # too few clips: the error comes first
    out = Path(out)
    if not out.parent.is_dir():
        raise OutputError(f"cannot write {out}: no folder {out.parent}")
    head = EmotionHead.load(head_path)
    device = resolve_device(device)
    start, cpu = time.perf_counter(), time.process_time()
    data = encode_user_clips(clips, head, Path(cache_dir), device)
    encoded, encoded_cpu = time.perf_counter() - start, time.process_time() - cpu
    reads_unlabelled = bool(settings.alignment or settings.pseudo_labels)
    unlabelled = [i for i, c in enumerate(clips) if not c.label] if reads_unlabelled else []
    labels = adapted_labels(head.labels, [clips[i].label for i in labelled])
    use_text = any(c.text for c in clips)
    console.print(f"{len(clips)} clips ({len(labelled)} labelled, {len({clips[i].speaker for i in labelled})} "
                  f"speakers) encoded in {encoded:.1f} s ({encoded_cpu:.0f} s of CPU time)")
    new = [label for label in labels if label not in head.labels]
    unlabelled_labels = [label for label in head.labels if label not in {clips[i].label for i in labelled}]
    notes = ([f"new: {', '.join(new)}"] if new else []) + (
        [f"kept from the starting head, none of your clips: {', '.join(unlabelled_labels)}"] if unlabelled_labels else [])
    console.print(f"labels: {', '.join(labels)}" + (f" ({'; '.join(notes)})" if notes else ""), highlight=False)
    if len(labelled) < len(clips) and not reads_unlabelled:
        console.print(f"note: {len(clips) - len(labelled)} clips without a label are not used (the recipe learns "
                      f"from labelled clips only)")

    start, cpu = time.perf_counter(), time.process_time()
    result = finetune_selected(head, data, labelled, settings, use_text=use_text, unlabelled=unlabelled)
    trained, trained_cpu = time.perf_counter() - start, time.process_time() - cpu
    how = ("whole speakers held out" if result.split == "speakers" else "one speaker: clips held out by label")
    sizes = ", ".join(str(len(f)) for f in result.folds)
    console.print(f"validation: {len(result.folds)} fold{'s' if len(result.folds) > 1 else ''} of {sizes} clips "
                  f"({how}); held-out UA by epoch, pooled over the folds: "
                  + " ".join(f"{x:.0%}" for x in result.curve), highlight=False)
    result.head.metadata.extra.update({
        "finetuned_on": str(labels_csv), "finetuned_from": str(head_path or "shipped head"),
        "validation_folds": [sorted({clips[i].speaker for i in f}) for f in result.folds],
        "validation_ua_before": result.curve[0], "validation_ua_after": result.curve[result.epochs],
    })
    with atomic_path(out, ".safetensors") as part:
        result.head.save(part)
    console.print(f"chose {result.epochs} epochs, then trained on all {len(labelled)} labelled clips "
                  f"({trained:.1f} s in all, {trained_cpu:.0f} s of CPU time); kept {settings.interpolation:.0%} of the "
                  f"way from the starting head's weights to the fine-tuned ones; temperature kept from the starting "
                  f"head ({result.head.metadata.temperature:.2f})", highlight=False)
    if result.pseudo:
        console.print(f"self-training: refitted with {len(result.pseudo)} of the {len(unlabelled)} clips without a "
                      f"label, labelled by the adapted head (the surest {settings.pseudo_labels:.0%} of each label)",
                      highlight=False)
    console.print(f"[bold]held-out clips ({'audio + transcript' if use_text else 'audio only'}), UA pooled over the "
                  f"folds: before {result.curve[0]:.1%} → after {result.curve[result.epochs]:.1%}[/]", highlight=False)
    console.print(f"wrote {out}")
    return result
