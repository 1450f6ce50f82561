"""The command line: parses options and calls the stages. No model or page logic lives here."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from . import __version__
from .constants import AGE_GROUPS, CULTURES
from .devices import DEVICES
from .errors import ExitStatus, SentimentogramError
from .transcribe import BACKENDS

__all__ = ["app", "main"]

app = typer.Typer(
    name="sentimentogram",
    help="Turn a video into a self-contained HTML page whose subtitles show how things were said.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sentimentogram {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Emotion-styled, word-synchronized subtitles as one HTML page."""


# --- training and evaluation of the emotion head -------------------------------------------

SHARED_DATA = Path("../shared/data")


@app.command()
def train(
    data_dir: Path = typer.Option(SHARED_DATA, "--data", help="Folder with emotional_speech/ and text/ (../shared/data layout)."),
    out: Path = typer.Option(Path("emotion_head.safetensors"), "--out", "-o", help="Where to write the trained head."),
    cache_dir: Path = typer.Option(Path(".cache/features"), "--cache", help="Encoder feature cache (reruns skip the encoders)."),
    hold_out: str = typer.Option("ravdess-17,ravdess-18,ravdess-19,ravdess-20", help="Speakers kept out of training (comma-separated); empty for none."),
    epochs: int = typer.Option(8, help="Passes over the training samples."),
    seed: int = typer.Option(0, help="Random seed (results are reproducible for a given seed)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda: where the encoders run."),
) -> None:
    """Train the fused text+audio emotion head from the shared corpora."""
    from .training.commands import run_train

    run_train(data_dir, out, cache_dir, [s for s in hold_out.split(",") if s], epochs, seed, device, console)


@app.command()
def evaluate(
    labels: Optional[Path] = typer.Option(None, "--labels", help="A clip CSV (path relative to it, label; text optional) to score the head on."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Head to score (default: the shipped one)."),
    data_dir: Path = typer.Option(SHARED_DATA, "--data", help="Shared data folder, for the full report."),
    cache_dir: Path = typer.Option(Path(".cache/features"), "--cache", help="Encoder feature cache."),
    report: bool = typer.Option(False, "--report", help="Train every baseline and leave-one-corpus-out model, and print the whole table (long)."),
    epochs: int = typer.Option(8, help="Epochs for the models --report trains."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Score the emotion head: on your own clips (--labels), on the held-out split, or the full report."""
    from .training.commands import run_evaluate

    run_evaluate(labels, checkpoint, data_dir, cache_dir, report, epochs, device, console)


# --- rendering: media file -> styled-subtitle page ------------------------------------------

Culture = Enum("Culture", {c: c for c in CULTURES}, type=str)
AgeGroup = Enum("AgeGroup", {a: a for a in AGE_GROUPS}, type=str)
Device = Enum("Device", {d: d for d in DEVICES}, type=str)
Backend = Enum("Backend", {b: b for b in BACKENDS}, type=str)


def _unexpected(exc: Exception) -> SentimentogramError:
    """A bug or an unforeseen library failure, as one line (SENTIMENTOGRAM_DEBUG=1 re-raises)."""
    if os.environ.get("SENTIMENTOGRAM_DEBUG"):
        raise exc
    text = str(exc).strip().splitlines()
    return SentimentogramError(f"unexpected {type(exc).__name__}: {text[-1][:200] if text else ''} "
                               "(set SENTIMENTOGRAM_DEBUG=1 for the traceback)")


def _print_summary(result, out: Console) -> None:
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("input", escape(str(result.input)))
    table.add_row("duration", f"{result.duration:.1f} s, language {escape(result.language or '?')}")
    if result.n_words:
        mix = " · ".join(f"{label} {share:.0%}" for label, share in result.emotion_mix.items())
        table.add_row("words", f"{result.n_words}   {mix}")
    else:
        table.add_row("words", "no speech found: the page says so")
    table.add_row("time", " · ".join(f"{stage} {s:.1f} s" for stage, s in result.stage_seconds.items()))
    if result.duration > 0:
        table.add_row("speed", f"{result.realtime_factor:.2f}× real time "
                               f"({result.total_seconds:.1f} s for {result.duration:.1f} s of media)")
    for path in result.outputs:
        table.add_row("wrote", escape(str(path)))
    out.print(table)


@app.command()
def render(
    input: Path = typer.Argument(..., help="Video or audio file to subtitle (anything ffmpeg reads).", show_default=False),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Page to write, or an existing folder for it. Default: INPUT's name with .html, beside it.", show_default=False),
    culture: Culture = typer.Option("western", help="Colour and typography conventions to start from (switchable on the page)."),
    age: AgeGroup = typer.Option("adult", help="Reader's age group: scales size, weight and motion (switchable on the page)."),
    style_file: Optional[Path] = typer.Option(None, "--style-file", help="TOML file overriding styles, e.g. \\[western.angry] color = \"#ff5555\" (see `sentimentogram styles`).", show_default=False),
    json_out: bool = typer.Option(False, "--json", help="Also write the analysis (words, emotions, VAD, gates) as JSON beside the page."),
    embed_video: bool = typer.Option(False, "--embed-video", help="Put the media inside the page (one file to share; large) instead of linking to it."),
    asr_model: str = typer.Option("base", "--asr-model", help="Whisper model for the words: base and tiny.en are bundled; other names (e.g. large-v3) need network or a local CTranslate2 folder."),
    language: Optional[str] = typer.Option(None, "--language", help="Spoken language code (en, de, pl…). Default: detected.", show_default=False),
    window: float = typer.Option(3.0, min=0.5, max=30.0, help="Seconds of speech the emotion model hears at once."),
    hop: float = typer.Option(1.0, min=0.1, max=30.0, help="Seconds between the starts of consecutive windows (at most --window)."),
    device: Device = typer.Option("auto", help="Where the models run: auto uses a CUDA GPU when one is visible."),
    backend: Backend = typer.Option("faster-whisper", help="Speech-recognition engine (openai-whisper is an optional extra)."),
    head: Optional[Path] = typer.Option(None, "--head", help="Emotion head checkpoint. Default: the one shipped in the package.", show_default=False),
) -> None:
    """Transcribe INPUT, recognise the emotion of every word, and write one self-contained HTML page."""
    if hop > window:
        raise typer.BadParameter(f"--hop ({hop}) must not exceed --window ({window})", param_hint="--hop")
    from .pipeline import Models, RenderOptions, render_file

    options = RenderOptions(culture=culture.value, age=age.value, style_file=style_file, out=out,
                            json=json_out, embed_video=embed_video, asr_model=asr_model,
                            language=language, window=window, hop=hop, device=device.value,
                            backend=backend.value, head=head)
    models = Models.for_options(options)
    try:
        with _stage_progress() as progress:
            result = render_file(input, options, models, progress)
    except (SentimentogramError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise _unexpected(exc) from exc
    _print_summary(result, Console())


@contextmanager
def _stage_progress():
    """A Rich progress bar per stage on stderr; yields the pipeline's progress callback.

    The bars appear with the first stage, so an error found by the early checks prints alone.
    """
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from .pipeline import STAGES

    bars = Progress(TextColumn("{task.description:<10}"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), console=console)
    tasks = {stage: bars.add_task(stage, total=1.0, start=False) for stage in STAGES}

    def update(stage: str, fraction: float) -> None:
        if not bars.live.is_started:
            bars.start()
        if fraction == 0.0:
            bars.start_task(tasks[stage])
        bars.update(tasks[stage], completed=fraction)
        if fraction >= 1.0:
            bars.stop_task(tasks[stage])

    try:
        yield update
    finally:
        bars.stop()


@app.command()
def styles(
    culture: Culture = typer.Option("western", help="Culture preset to show."),
    age: AgeGroup = typer.Option("adult", help="Age group to apply."),
    style_file: Optional[Path] = typer.Option(None, "--style-file", help="TOML overrides to apply on top.", show_default=False),
) -> None:
    """Show the style of a typical, confident word of each emotion (what a --style-file overrides)."""
    from rich.table import Table

    from .typography import load_style_file, style_table

    overrides = load_style_file(style_file) if style_file else None
    presets = style_table(culture.value, age.value, overrides)
    background = presets["neutral"].background
    others = ", ".join(f"{e} {s.background}" for e, s in presets.items() if s.background != background)
    table = Table(title=f"{culture.value} · {age.value}", title_justify="left", box=None,
                  caption=f"caption background {background}" + (f" ({others})" if others else ""),
                  caption_justify="left", header_style="bold underline")
    for column in ("emotion", "colour", "font", "size", "weight", "shape", "motion"):
        table.add_column(column, no_wrap=True)
    for emotion, s in presets.items():
        shape = [x for x in ("italic" if s.italic else "", "UPPER" if s.text_transform == "uppercase" else "",
                             f"{s.letter_spacing:+.2f}em" if s.letter_spacing else "") if x]
        table.add_row(f"[{s.color} on {s.background}] {emotion} [/]", s.color, escape(s.font_family),
                      f"{s.size:.2f}", str(s.weight), " ".join(shape),
                      s.animation if s.animation != "none" else "")
    Console().print(table)


def main() -> None:
    """Entry point: typed one-line errors, never a traceback."""
    try:
        app(standalone_mode=False)
    except SentimentogramError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_status)
    except (KeyboardInterrupt, typer.Abort):
        console.print("[yellow]interrupted[/]")
        sys.exit(ExitStatus.INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad option, bad choice, missing argument
        exc.show()
        sys.exit(exc.exit_code)
