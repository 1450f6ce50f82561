"""The training commands of the command line: ``train``, ``train-text`` and ``evaluate``.

Kept apart from ``cli.py`` (which registers them last in ``--help``) because they serve people who
retrain the emotion model, not people who render; like every command, they only parse options and
call the training package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UsageError
from .options import DATA_ENV, Device, console

__all__ = ["train", "train_text", "evaluate"]

# --- training and evaluation of the emotion head -------------------------------------------

# Test actors 17–20 (scored) and validation speakers (temperature): what the shipped head never saw.
_HELD_OUT = [f"ravdess-{a}" for a in range(13, 21)] + [f"ased-{a}" for a in range(61, 66)]
_DATA_HELP = f"Folder with emotional_speech/ and text/ (the project's shared data layout); or set ${DATA_ENV}."
_CACHE_DIR = typer.Option(Path(".cache/features"), "--cache-dir", "--cache", help="Encoder feature cache (reruns skip the encoders; --cache is the old name).")
_DEVICE = typer.Option("auto", help="Where the encoders run: auto uses a CUDA GPU when one is visible.")


def _data(data_dir: Optional[Path]) -> Path:
    """The corpora folder: --data or $SENTIMENTOGRAM_DATA, required (nothing is assumed)."""
    if data_dir is None:
        raise UsageError(f"this needs the training corpora: pass --data FOLDER or set {DATA_ENV}")
    return data_dir


def train(
    data_dir: Optional[Path] = typer.Option(None, "--data", envvar=DATA_ENV, show_default=False, help=_DATA_HELP),
    out: Path = typer.Option(Path("emotion_head.safetensors"), "--out", "-o", help="Where to write the trained head."),
    cache_dir: Path = _CACHE_DIR,
    hold_out: str = typer.Option(",".join(_HELD_OUT), help="Speakers kept out of training (comma-separated; empty for none). Held-out validation speakers (RAVDESS 13–16, ASED 61–65) fit the temperature; the others are scored."),
    text_delta: Optional[Path] = typer.Option(None, "--text-delta", help="Fine-tuned text layers (train-text) for the token embeddings. Default: the shipped ones.", show_default=False),
    epochs: Optional[int] = typer.Option(None, help="Passes over the training samples (default 4, as the shipped head; with --finetune: at most this many, default 20, stopping early).", show_default=False),
    seed: int = typer.Option(0, help="Random seed (results are reproducible for a given seed)."),
    device: Device = _DEVICE,
    finetune: Optional[Path] = typer.Option(None, "--finetune", help="Adapt a trained head to your own clips instead: a CSV (path relative to it, label; text and speaker optional). Needs two or more speakers: some are held out for validation. Ignores --data, --hold-out and --text-delta.", show_default=False),
    head: Optional[Path] = typer.Option(None, "--head", help="With --finetune: the head to start from. Default: the shipped one.", show_default=False),
) -> None:
    """Train the fused text+audio emotion head from the shared corpora, or adapt one to your clips (--finetune)."""
    if finetune is not None:
        from ..training.finetune import FinetuneSettings
        from .finetune_command import run_finetune

        run_finetune(finetune, out, head, cache_dir, FinetuneSettings(max_epochs=epochs or 20, seed=seed), device.value,
                     console)
        return
    data = _data(data_dir)
    from .train_commands import run_train

    run_train(data, out, cache_dir, [s for s in hold_out.split(",") if s], epochs or 4, seed, device.value,
              console, text_delta)


def train_text(
    data_dir: Optional[Path] = typer.Option(None, "--data", envvar=DATA_ENV, show_default=False, help=f"Folder with text/goemotions_ekman and text/meld; or set ${DATA_ENV}."),
    out: Path = typer.Option(Path("text_encoder_delta.safetensors"), "--out", "-o", help="Where to write the fine-tuned layers."),
    epochs: int = typer.Option(1, help="Passes over GoEmotions + MELD train (the shipped delta: 1)."),
    seed: int = typer.Option(0, help="Random seed."),
    sample: Optional[int] = typer.Option(None, "--sample", min=1, show_default=False, help="Train on a seeded sample of this many sentences (default: all of them, a full epoch)."),
    context: bool = typer.Option(False, "--context", help="Read each MELD line after the line before it in its dialogue (pooled over the line alone)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", show_default=False, help="Save progress here every 50 steps, and resume from it when it exists."),
    test: bool = typer.Option(False, "--test", help="Also score MELD test (choose settings on MELD dev, which is always scored)."),
    layers: Optional[str] = typer.Option(None, "--layers", show_default=False, help="MiniLM layers to fine-tune, of 0-5, comma-separated. Default: the top two, 4,5 (as the shipped delta); more layers make a larger delta."),
) -> None:
    """Fine-tune the text encoder's top layers for emotion (GoEmotions + MELD train): a small delta file.

    Prints the fine-tuning classifier's weighted F1 on MELD dev (the validation split)."""
    data = _data(data_dir)  # before the training code loads
    from .train_commands import run_finetune_text

    run_finetune_text(data, out, epochs, seed, console, sample=sample, context=context, checkpoint=checkpoint,
                      score_test=test, layers=layers)


def evaluate(
    labels: Optional[Path] = typer.Option(None, "--labels", help="A clip CSV (path relative to it, label; text optional) to score the head on."),
    checkpoint: Optional[Path] = typer.Option(None, "--head", "--checkpoint", show_default=False, help="Emotion head checkpoint to score. Default: the one shipped in the package (--checkpoint is the old name)."),
    data_dir: Optional[Path] = typer.Option(None, "--data", envvar=DATA_ENV, show_default=False, help=_DATA_HELP + " Not needed with --labels."),
    cache_dir: Path = _CACHE_DIR,
    report: bool = typer.Option(False, "--report", help="Train every baseline and leave-one-corpus-out model, and print the whole table (long)."),
    epochs: int = typer.Option(4, help="Epochs for the full models --report trains (leave-one-corpus-out heads: 2)."),
    save_full_model: Optional[Path] = typer.Option(None, help="--report: also save the full model it trains (held-out actors 17–20 unseen) here.", show_default=False),
    baselines: bool = typer.Option(False, "--baselines", help="--report: also train audio-only, text-only and concatenation heads for the fusion table (three more trainings)."),
    protocol: str = typer.Option("product", "--protocol", help="How clips are scored: product (each clip alone through render's emotion stage: the figure a user gets), packed-speaker (a speaker's clips packed into 30 s chunks and centred on that speaker's mean: the older, optimistic protocol), or both comma-separated (columns side by side)."),
    asr: bool = typer.Option(False, "--asr", help="product: the words Whisper hears instead of the CSV's text column (slower: one transcription per clip)."),
    asr_model: Optional[str] = typer.Option(None, "--asr-model", help="With --asr: the Whisper model (default: the bundled base).", show_default=False),
    audio_only: bool = typer.Option(False, "--audio-only", help="Score the voice alone (no words given to the head)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write each clip's scores per protocol here.", show_default=False),
    device: Device = _DEVICE,
) -> None:
    """Score the emotion head: on your own clips (--labels), on the held-out split, or the full report.

    Clips are scored as render scores them (each alone, --protocol product) unless --protocol says otherwise.
    """
    if not report:
        from ..errors import UsageError
        from .evaluate_command import parse_protocols, run_evaluate_clips

        if labels is None and data_dir is None:
            raise UsageError("evaluate needs --labels CSV, or --data FOLDER (the shared corpora) for the held-out speakers")
        run_evaluate_clips(labels, checkpoint, data_dir, cache_dir, device.value, console,
                           parse_protocols(protocol), asr=asr, asr_model=asr_model, audio_only=audio_only,
                           json_out=json_out)
        return
    data = data_dir if labels is not None and not report else _data(data_dir)
    from .train_commands import run_evaluate

    run_evaluate(labels, checkpoint, data, cache_dir, report, epochs, device.value, console, save_full_model, baselines)
