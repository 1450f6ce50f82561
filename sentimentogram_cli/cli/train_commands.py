"""What `sentimentogram train` and `sentimentogram evaluate` do, with rich progress."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..devices import resolve_device
from ..errors import InputError
from ..emotion.head import EmotionHead
from ..training.data import TrainingData, load_training_data
from ..assets import text_delta_path
from ..training.evaluation import calibrate, clip_inputs, score_clips, score_sentences
from ..training.report import VALIDATION_SPEAKERS, ReportTable
from ..training.train import TrainSettings, cached_train_head

__all__ = ["run_train", "run_finetune_text", "run_evaluate"]


@contextmanager
def _progress(console: Console):
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _check_data(data_dir: Path) -> None:
    if not (Path(data_dir) / "emotional_speech" / "labels.csv").is_file():
        raise InputError(f"{data_dir} has no emotional_speech/labels.csv: pass --data pointing at the shared data folder")


def load_data(data_dir: Path, cache_dir: Path, device: str, console: Console,
              text_delta: Path | None = None) -> TrainingData:
    """The shared corpora with their features; token embeddings from the shipped fine-tuned text
    encoder unless ``text_delta`` names another delta."""
    _check_data(data_dir)
    with _progress(console) as update:
        return load_training_data(data_dir, cache_dir, resolve_device(device), progress=update,
                                  text_delta=text_delta or text_delta_path())


def train_with_progress(data, indices, settings, console: Console, title: str, heads_cache: Path | None) -> EmotionHead:
    with _progress(console) as update:
        return cached_train_head(data, indices, settings, heads_cache, progress=lambda s, n: update(title, s, n))


def run_train(data_dir: Path, out: Path, cache_dir: Path, hold_out: list[str], epochs: int, seed: int,
              device: str, console: Console, text_delta: Path | None = None) -> None:
    """Train on every clip but the held-out speakers; fit the temperature on the held-out
    validation speakers, score the held-out test speakers."""
    data = load_data(data_dir, cache_dir, device, console, text_delta)
    held = set(hold_out)
    indices = [i for i, c in enumerate(data.clips) if c.speaker not in held]
    settings = TrainSettings(epochs=epochs, seed=seed)
    if settings.alone_repeat or settings.augment_rate:  # what render sees: clips alone, real-world audio
        from ..emotion.features import AudioEncoder
        from ..training.mix import prepare_mix

        with _progress(console) as update:
            prepare_mix(data, indices, settings, AudioEncoder(device=resolve_device(device)), cache_dir, held, update)
    console.print(f"training on {len(indices)} clips ({len(data.clips) - len(indices)} held out; "
                  f"{len(data.alone)} also encoded alone, {len(data.augmented)} also augmented) and the text corpora")
    head = train_with_progress(data, indices, settings, console, "training", cache_dir.parent / "heads")
    head.metadata.extra["held_out"] = sorted(held)
    validation = [i for i, c in enumerate(data.clips) if c.speaker in held & VALIDATION_SPEAKERS]
    if validation:
        inputs = clip_inputs(head, data, validation)
        fit = calibrate(head, inputs)
        console.print(f"validation speakers, audio only: UA {score_clips(head, inputs, use_text=False)['ua']:.1%}; "
                      f"temperature {fit['temperature']:.2f} (ECE {fit['ece_before']:.3f} → {fit['ece_after']:.3f})")
    head.save(out)
    console.print(f"wrote {out}")
    if all(any(s.label is not None for s in data.text[name].sentences) for name in ("meld-test", "goemotions-test")):
        meld, goemotions = (score_sentences(head, data.text[name]) for name in ("meld-test", "goemotions-test"))
        console.print(f"text only (test splits, scored, never chosen on): MELD weighted F1 {meld['weighted_f1']:.3f}, "
                      f"GoEmotions macro-F1 {goemotions['macro_f1']:.3f}")
    tested = [i for i, c in enumerate(data.clips) if c.speaker in held - VALIDATION_SPEAKERS]
    if tested:
        result = score_clips(head, clip_inputs(head, data, tested), use_text=False)
        console.print(f"held-out test speakers, audio only: UA {result['ua']:.1%}  WA {result['wa']:.1%}  "
                      f"macro-F1 {result['macro_f1']:.3f}  ECE {result['ece']:.3f}")


def run_finetune_text(data_dir: Path, out: Path, epochs: int, seed: int, console: Console, sample: int | None = None,
                      context: bool = False, checkpoint: Path | None = None, score_test: bool = False,
                      layers: str | None = None) -> None:
    """Fine-tune MiniLM's top layers (``layers``: e.g. "0,1,2,3,4,5"; default the settings' top two) on
    GoEmotions + MELD train and write them as a delta; score the fine-tuning classifier on MELD dev
    (and test when asked)."""
    chosen = parse_text_layers(layers) if layers is not None else None  # a bad value fails before any work
    from transformers import AutoModel, AutoTokenizer

    from ..assets import TEXT_ENCODER_ID, minilm_dir
    from ..constants import EMOTIONS
    from ..emotion.text_delta import save_text_delta
    from ..training.corpora import read_goemotions, read_meld
    from ..training.metrics import classification_metrics
    from ..training.text_finetune import TextFinetuneSettings, finetune_text_classifier, predict_text

    text_dir = Path(data_dir) / "text"
    if not (text_dir / "meld").is_dir():
        raise InputError(f"{data_dir} has no text/meld: pass --data pointing at the shared data folder")
    sentences = read_goemotions(text_dir / "goemotions_ekman", "train") + read_meld(text_dir / "meld", "train")
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True)
    encoder = AutoModel.from_pretrained(minilm_dir(), local_files_only=True)
    settings = TextFinetuneSettings(epochs=epochs, seed=seed, max_sentences=sample, context=context)
    if chosen is not None:
        settings = replace(settings, layers=chosen)
    with _progress(console) as update:
        classifier = finetune_text_classifier(encoder, tokenizer, sentences, settings, checkpoint=checkpoint,
                                              progress=lambda s, n: update("fine-tuning", s, n))
    save_text_delta(encoder, out, settings.layers, TEXT_ENCODER_ID, Path(out).stem)
    console.print(f"wrote {out} (layers {', '.join(map(str, settings.layers))} of MiniLM, float16)")
    for split in ("dev", "test") if score_test else ("dev",):
        scored = [s for s in read_meld(text_dir / "meld", split) if s.label in EMOTIONS]
        predicted = predict_text(classifier, tokenizer, scored, context).argmax(axis=1)
        result = classification_metrics([EMOTIONS.index(s.label) for s in scored], predicted, list(range(len(EMOTIONS))))
        console.print(f"MELD {split}, the fine-tuning classifier{' with the previous line' if context else ''}: "
                      f"weighted F1 {result['weighted_f1']:.3f}  UA {result['ua']:.1%}  (n={result['n']})",
                      highlight=False)


def parse_text_layers(text: str) -> tuple[int, ...]:
    """"4,5" -> (4, 5): MiniLM's layers to fine-tune, each of 0-5, sorted, no repeats."""
    try:
        layers = tuple(sorted({int(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise InputError(f"--layers takes MiniLM layer numbers 0-5 separated by commas, not {text!r}") from None
    if not layers or not all(0 <= k <= 5 for k in layers):
        raise InputError(f"--layers takes MiniLM layer numbers 0-5 separated by commas, not {text!r}")
    return layers


def print_metrics(console: Console, title: str, result: dict) -> None:
    console.print(f"[bold]{title}[/]: UA {result['ua']:.1%}  WA {result['wa']:.1%}  "
                  f"macro-F1 {result['macro_f1']:.3f}  (n={result['n']})", highlight=False)
    table = Table("true \\ predicted", *result["labels"], title="confusion matrix")
    for label, row in zip(result["labels"], result["confusion"]):
        table.add_row(label, *map(str, row))
    console.print(table)


def show_report_item(console: Console, item) -> None:
    """A table of ``training.report`` (a ``ReportTable``) drawn with Rich, or one of its lines."""
    if not isinstance(item, ReportTable):
        console.print(escape(str(item)), highlight=False)
        return
    table = Table(*map(escape, item.header), title=escape(item.title))
    for row in item.rows:
        table.add_row(*map(escape, row))
    console.print(table)


def _clip_data(labels_csv: Path, head: EmotionHead, cache_dir: Path, device: str, console: Console):
    """The clips of a CSV in the shared format with their audio frames and transcript tokens (only
    these: no text corpus is read)."""
    from ..emotion.features import AudioEncoder, TextEncoder
    from ..training.corpora import read_clips
    from ..training.extract import clip_frames, text_tokens

    if not labels_csv.is_file():
        raise InputError(f"{labels_csv}: no such file")
    clips = read_clips(labels_csv)
    unknown = sorted({c.label for c in clips} - set(head.labels))
    if unknown:
        raise InputError(f"{labels_csv}: labels {', '.join(unknown)} are not among the head's {', '.join(head.labels)}")
    missing = [c.path for c in clips if not c.path.is_file()]
    if missing:
        raise InputError(f"{labels_csv}: {len(missing)} clips are missing, e.g. {missing[0]}")
    device = resolve_device(device)
    with _progress(console) as update:
        text_encoder = TextEncoder.for_head(head.metadata.text_encoder, device=device)
        audio_encoder = AudioEncoder(device=device, layers=head.metadata.audio_layers)
        if head.metadata.audio_encoder != audio_encoder.identity:
            raise InputError(f"the head expects audio encoder {head.metadata.audio_encoder}")
        frames = clip_frames(clips, audio_encoder, cache_dir, lambda d, n: update("clip audio", d, n))
        transcripts = text_tokens([c.text for c in clips], text_encoder, cache_dir, "clips")
    return TrainingData(clips, frames, transcripts, {}, audio_encoder.identity, text_encoder.identity, head.labels,
                        frame_layers=audio_encoder.layers)


def _score_csv(labels_csv: Path, head: EmotionHead, cache_dir: Path, device: str, console: Console) -> dict:
    """Score a head on a user's clip CSV, audio only or with the text column when it has one."""
    data = _clip_data(labels_csv, head, cache_dir, device, console)
    use_text = any(c.text for c in data.clips)
    result = score_clips(head, clip_inputs(head, data, list(range(len(data.clips))), "own" if use_text else "none"))
    print_metrics(console, f"{labels_csv} ({'audio + transcript' if use_text else 'audio only'})", result)
    return result


def run_evaluate(labels: Path | None, checkpoint: Path | None, data_dir: Path, cache_dir: Path, report: bool,
                 epochs: int, device: str, console: Console, save_full_model: Path | None = None,
                 baselines: bool = False) -> None:
    if report:
        from ..training.report import full_report

        data = load_data(data_dir, cache_dir, device, console)
        heads = cache_dir.parent / "heads"
        full_report(data, TrainSettings(epochs=epochs), lambda item: show_report_item(console, item),
                    lambda indices, settings, title: train_with_progress(data, indices, settings, console, title, heads),
                    baselines=baselines, save_full_model=save_full_model, heads_dir=heads)
        return
    head = EmotionHead.load(checkpoint)
    if labels is not None:
        _score_csv(labels, head, cache_dir, device, console)
        return
    # Default: the head on the held-out speakers it never saw. Frames are computed over the whole
    # clip list (clips are packed into 30 s chunks over it), but no text corpus is needed.
    _check_data(data_dir)
    data = _clip_data(Path(data_dir) / "emotional_speech" / "labels.csv", head, cache_dir, device, console)
    held = set(head.metadata.extra.get("held_out", ["ravdess-17", "ravdess-18", "ravdess-19", "ravdess-20"]))
    indices = [i for i, c in enumerate(data.clips) if c.speaker in held]
    print_metrics(console, "held-out speakers, audio only", score_clips(head, clip_inputs(head, data, indices), use_text=False))
