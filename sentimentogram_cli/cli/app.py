"""The command line: parses options and calls the public API (``render``, ``restyle``, ``burn``).
No model, page or file logic lives here. ``main(argv) -> ExitStatus`` is the one place where
exceptions become exit codes, and tests call it in-process (as httpie's do).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from . import training as cli_training
from .options import AgeGroup, Backend, Culture, Device, console, typer_app
from ..constants import VERSION
from ..errors import ExitStatus, UsageError, as_error
from .prefs import app as prefs_app
from .progress import batch_progress, media_progress, stage_progress
from .summaries import print_done, print_summary, results_table

__all__ = ["app", "main"]

app = typer_app(
    name="sentimentogram",
    help="Turn a video into a self-contained HTML page whose subtitles show how things were said.",
    no_args_is_help=True,
)
app.add_typer(prefs_app, name="prefs")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sentimentogram {VERSION}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Emotion-styled, word-synchronized subtitles as one HTML page."""


# --- rendering: media file -> styled-subtitle page ------------------------------------------

# Options shared by render, restyle and burn.
_CULTURE = typer.Option("western", help="Colour and typography conventions to start from (switchable on the page).")
_AGE = typer.Option("adult", help="Reader's age group: scales size, weight and motion (switchable on the page).")
_STYLE_FILE = typer.Option(None, "--style-file", help="TOML file overriding styles, e.g. [western.angry] color = \"#ff5555\" (see `sentimentogram styles`).", show_default=False)
_PROFILE = typer.Option(None, "--profile", show_default=False, help="Preference profile from `sentimentogram prefs fit`: its chosen style per emotion beats the culture/age presets (a --style-file beats it).")
_FORMAT = typer.Option("html", "--format", "-f", help="Outputs, comma-separated: html, json, vtt, srt, ass.")
_EMBED = typer.Option(False, "--embed-video", help="Put the media inside the page (one file to share; large) instead of linking to it.")
_ASR_MODEL = typer.Option("base", "--asr-model", help="Whisper model for the words: base and tiny.en are bundled; other names (e.g. large-v3) need network or a local CTranslate2 folder.")
_LANGUAGE = typer.Option(None, "--language", help="Spoken language code (en, de, pl…). Default: detected.", show_default=False)
_WINDOW = typer.Option(3.0, help="Seconds of speech the emotion model hears at once (0.5 to 30).")
_HOP = typer.Option(1.0, help="Seconds between the starts of consecutive windows (0.1 to --window).")
_DEVICE = typer.Option("auto", help="Where the models run: auto uses a CUDA GPU when one is visible.")
_BACKEND = typer.Option("faster-whisper", help="Speech-recognition engine (openai-whisper is an optional extra).")
_HEAD = typer.Option(None, "--head", help="Emotion head checkpoint. Default: the one shipped in the package.", show_default=False)
_CACHE_DIR = typer.Option(None, "--cache-dir", envvar="SENTIMENTOGRAM_CACHE_DIR", show_default=False, help="Analysis cache folder. Default: $XDG_CACHE_HOME/sentimentogram, else ~/.cache/sentimentogram.")
_EMPHASIS = typer.Option("prosody", "--emphasis", metavar="prosody|off", help="Emphasised words (said louder, higher or longer than the speaker's usual): prosody draws them heavier, raised and spaced, <b> in VTT and bold in ASS; off draws every word by its emotion alone (switchable on the page).")
_SPEAKERS = typer.Option("auto", "--speakers", metavar="auto|N|off", help="Who is speaking: auto finds how many voices (one for a monologue), N asks for N, off leaves speakers out. Turns are coloured and labelled on the page, <v Name> in VTT, \"- \" lines in SRT, a style per speaker in ASS.")
_NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the analysis cache: run the models, skip nothing.")


def _analyser(device: Device, asr_model: str, backend: Backend, head: Optional[Path]):
    from ..analyser import Analyser

    return Analyser(device.value, asr_model, backend=backend.value, head=head)


def _analysis_options(language: Optional[str], window: float, hop: float, speakers: str = "auto"):
    from ..analyser import AnalysisOptions

    return AnalysisOptions(language=language, window=window, hop=hop, speakers=speakers)


def _style(culture: Culture, age: AgeGroup, style_file: Optional[Path], profile: Optional[Path],
           font: Optional[str] = None):
    from ..style import Style

    return Style(culture.value, age.value, style_file, profile, font=font)


_FONT = typer.Option(None, "--font", metavar="NAME|FILE", show_default=False, help="One font for every emotion (colour, size and weight still carry it): a shipped family (Poppins, Fredoka, Merriweather, Bebas Neue, Oswald, Atkinson Hyperlegible), an installed family, or a .ttf/.otf/.woff2 file. A font that is not found is an error, never a silent fallback.")


def _output(out: Optional[str], formats: str, embed_video: bool, reading_speed: Optional[float] = None):
    from ..jobs import OutputOptions
    from ..output.paths import names_folder, parse_formats

    return OutputOptions(out=Path(out) if out else None, folder=names_folder(out), formats=parse_formats(formats),
                         embed_video=embed_video, reading_speed=reading_speed)


def _emphasised(style, emphasis: str):
    """``style`` with the --emphasis choice (a one-line UsageError when it is not one)."""
    from dataclasses import replace

    return replace(style, emphasis=emphasis)


def _cache(no_cache: bool, cache_dir: Optional[Path]):
    return None if no_cache else (cache_dir or True)


@app.command()
def render(
    inputs: List[str] = typer.Argument(..., metavar="INPUT...", show_default=False, help="Video or audio files, folders (searched recursively) or globs such as 'talks/**/*.mp4'."),
    out: Optional[str] = typer.Option(None, "--out", "-o", metavar="PATH", show_default=False, help="Where to write: a path (its suffix becomes each format's) or a folder, which several inputs need (end it with / to have it made). Default: beside each input, with its name."),
    formats: str = _FORMAT,
    culture: Culture = _CULTURE,
    age: AgeGroup = _AGE,
    style_file: Optional[Path] = _STYLE_FILE,
    profile: Optional[Path] = _PROFILE,
    json_out: bool = typer.Option(False, "--json", hidden=True, help="Old spelling of adding json to --format."),
    emphasis: str = _EMPHASIS,
    font: Optional[str] = _FONT,
    embed_video: bool = _EMBED,
    reading_speed: Optional[float] = typer.Option(None, "--reading-speed", metavar="CPS", min=5, max=60, show_default=False, help="Captions' reading speed, characters a second (default: the age group's: 20 for adults, 15 for children; or the style file's [captions] max_cps)."),
    asr_model: str = _ASR_MODEL,
    language: Optional[str] = _LANGUAGE,
    window: float = _WINDOW,
    hop: float = _HOP,
    speakers: str = _SPEAKERS,
    device: Device = _DEVICE,
    backend: Backend = _BACKEND,
    head: Optional[Path] = _HEAD,
    cache_dir: Optional[Path] = _CACHE_DIR,
    no_cache: bool = _NO_CACHE,
    force: bool = typer.Option(False, "--force", help="Render even the inputs whose outputs are up to date."),
    start: Optional[str] = typer.Option(None, "--start", metavar="TIME", show_default=False, help="Only the words from this time (seconds or 1:23.5), in outputs named after the range; one input."),
    end: Optional[str] = typer.Option(None, "--end", metavar="TIME", show_default=False, help="Only the words up to this time."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]", show_default=False, help="Render on Ray workers (pip install 'sentimentogram[ray]'): --ray alone starts a local Ray on this machine's cores; auto or ray://HOST:10001 joins a cluster. Inputs and outputs must be on storage every node sees."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, show_default=False, help="With --ray: how many CPU workers (default: one per 2 CPUs of the cluster; one per GPU where it has GPUs)."),
) -> None:
    """Transcribe each input, recognise the emotion of every word, write a self-contained HTML page.

    Also JSON, VTT, SRT or ASS with --format. Reruns skip inputs whose outputs are up to date.
    """
    from ..batch import BatchFailed, discover_inputs, is_single_file, run_batch
    from ..jobs import render as render_input

    settings = dict(options=_analysis_options(language, window, hop, speakers),
                    style=_emphasised(_style(culture, age, style_file, profile, font), emphasis),
                output=_output(out, formats + (",json" if json_out else ""), embed_video, reading_speed),
                cache=_cache(no_cache, cache_dir), force=force)
    analyser = _analyser(device, asr_model, backend, head)  # one set of models for every input
    if workers is not None and ray is None:
        raise UsageError("--workers needs --ray")
    from ..ranges import TimeRange

    span = TimeRange.parse(start, end)
    if not span.whole and (ray is not None or not is_single_file(inputs)):
        raise UsageError("--start/--end cut one recording: give a single file")
    if ray is None and is_single_file(inputs):
        with stage_progress() as progress:
            result = render_input(Path(inputs[0]), analyser=analyser, progress=progress, span=span, **settings)
        print_summary(result, Console())
        return
    items = discover_inputs(inputs)
    if len(items) == 1 and items[0].error is not None:  # e.g. an empty folder: nothing to table
        raise items[0].error
    if ray is not None:
        from ..distributed import render_on_ray

        with media_progress() as update:
            report = render_on_ray(items, analyser=dict(device=device.value, asr_model=asr_model, backend=backend.value,
                                                        head=head), address=ray, workers=workers, on_update=update,
                                   on_done=_print_failure, **settings)
    else:
        report = run_batch(items, analyser, progress_for=batch_progress(len(items)), on_done=print_done, **settings)
    Console().print(results_table(report))
    if report.failed:
        raise BatchFailed(report)  # main() prints it as the last line and exits with its status


def _print_failure(entry) -> None:
    if entry.status == "failed":
        print_done(entry)


@app.command()
def restyle(
    analysis: Path = typer.Argument(..., show_default=False, help="An analysis document (render --format json, or --json)."),
    out: Optional[str] = typer.Option(None, "--out", "-o", metavar="PATH", show_default=False, help="Where to write: a path (its suffix becomes each format's) or a folder (end it with / to have it made). Default: beside the document."),
    formats: str = _FORMAT,
    culture: Culture = _CULTURE,
    age: AgeGroup = _AGE,
    style_file: Optional[Path] = _STYLE_FILE,
    profile: Optional[Path] = _PROFILE,
    embed_video: bool = _EMBED,
    emphasis: str = _EMPHASIS,
    font: Optional[str] = _FONT,
    media: Optional[Path] = typer.Option(None, "--media", show_default=False, help="The audio or video the page plays. Default: the file the document names, beside it."),
    speaker_names: Optional[str] = typer.Option(None, "--speaker-names", metavar="ID=NAME,...", show_default=False, help="Names for the speakers the analysis found, e.g. \"A=Host,B=Guest\" (ids as in the document: A, B, ...)."),
    reading_speed: Optional[float] = typer.Option(None, "--reading-speed", metavar="CPS", min=5, max=60, show_default=False, help="Captions' reading speed, characters a second: the cues are cut again for it (default: the age group's, 20 for adults, 15 for children, or the style file's [captions] max_cps)."),
) -> None:
    """Render pages and subtitles again from an analysis document alone: no model runs. The
    captions are cut again when the age group, style file or --reading-speed asks other rules."""
    from ..jobs import restyle as restyle_document

    with stage_progress(("page",)) as progress:
        result = restyle_document(analysis, style=_emphasised(_style(culture, age, style_file, profile, font), emphasis),
                                  output=_output(out, formats, embed_video, reading_speed), media=media,
                                  progress=progress, speaker_names=_speaker_names(speaker_names))
    print_summary(result, Console())


def _speaker_names(text: Optional[str]) -> Optional[dict]:
    """``"A=Host,B=Guest"`` as ``{"A": "Host", "B": "Guest"}``; UsageError when it is not that."""
    if text is None:
        return None
    names = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        sid, sep, name = part.partition("=")
        if not sep or not sid.strip() or not name.strip():
            raise UsageError(f"--speaker-names: {part!r} is not ID=NAME (e.g. \"A=Host,B=Guest\")")
        names[sid.strip()] = name.strip()
    return names


@app.command()
def burn(
    input: Path = typer.Argument(..., show_default=False, help="The video to subtitle (it is not changed)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", show_default=False, help="Video to write, or an existing folder for it. Default: INPUT.subtitled.<ext> beside INPUT."),
    analysis: Optional[Path] = typer.Option(None, "--analysis", show_default=False, help="Use this analysis document instead of the cache or the models."),
    culture: Culture = typer.Option("western", help="Colour and typography conventions of the burned subtitles."),
    age: AgeGroup = typer.Option("adult", help="Reader's age group: scales the burned subtitles' size and weight."),
    style_file: Optional[Path] = _STYLE_FILE,
    profile: Optional[Path] = _PROFILE,
    asr_model: str = _ASR_MODEL,
    language: Optional[str] = _LANGUAGE,
    window: float = _WINDOW,
    hop: float = _HOP,
    speakers: str = _SPEAKERS,
    device: Device = _DEVICE,
    backend: Backend = _BACKEND,
    head: Optional[Path] = _HEAD,
    cache_dir: Optional[Path] = _CACHE_DIR,
    no_cache: bool = _NO_CACHE,
    aspect: str = typer.Option("source", "--aspect", metavar="16:9|9:16|1:1|source", help="Shape of the video: 9:16 for TikTok, Reels and Shorts, 1:1 for feeds. Captions keep to that shape's safe area (9:16: clear of the bottom 20% and the right-hand buttons)."),
    fill: str = typer.Option("blur", "--fill", metavar="blur|crop", help="How a picture of another shape fills the frame: blur (all of it, over a blurred copy) or crop (the centre)."),
    position: str = typer.Option("bottom", "--position", metavar="bottom|middle|top", help="Where the captions sit in the safe area."),
    size: Optional[float] = typer.Option(None, "--size", metavar="PERCENT", show_default=False, help="Caption text size, percent of the picture's shorter side (default 6)."),
    margin: Optional[str] = typer.Option(None, "--margin", metavar="V[,SIDES|,LEFT,RIGHT]", show_default=False, help="Margins in percent: V of the height from the caption's edge, the sides of the width (default: the aspect's safe area)."),
    font: Optional[str] = _FONT,
    start: Optional[str] = typer.Option(None, "--start", metavar="TIME", show_default=False, help="Burn from this time (seconds or 1:23.5); the output's name says the range."),
    end: Optional[str] = typer.Option(None, "--end", metavar="TIME", show_default=False, help="Burn up to this time."),
    backdrop: str = typer.Option("waveform", "--backdrop", metavar="waveform|IMAGE", help="The picture of an audio-only input: its waveform, or a still image."),
    preset: str = typer.Option("veryfast", "--preset", help="x264 preset: ultrafast encodes fastest, slower ones make smaller files."),
    force: bool = typer.Option(False, "--force", help="Encode again even when the video is up to date for the same inputs and options."),
) -> None:
    """Write a copy of INPUT with the emotion-styled subtitles burned into the picture (ASS, bundled fonts).

    Vertical and square videos with --aspect; audio-only INPUT becomes a video of its waveform (or --backdrop IMAGE).
    """
    from ..analyser import STAGES
    from ..jobs import burn as burn_video
    from ..ranges import TimeRange

    with stage_progress((*STAGES, "burn")) as progress:
        result = burn_video(input, analyser=_analyser(device, asr_model, backend, head),
                            options=_analysis_options(language, window, hop, speakers),
                            style=_style(culture, age, style_file, profile, font), output=out, analysis=analysis,
                            cache=_cache(no_cache, cache_dir), progress=progress, aspect=aspect, fill=fill,
                            position=position, size=size, margin=margin, span=TimeRange.parse(start, end),
                            backdrop=backdrop, force=force, preset=preset)
    summary = Console()
    if result.status == "skipped":
        summary.print(f"[bold]kept[/] {escape(str(result.output))}  (up to date: --force encodes it again)",
                      highlight=False, soft_wrap=True)
        return
    summary.print(f"[bold]wrote[/] {escape(str(result.output))}  ({result.size[0]}×{result.size[1]}, "
                  f"{result.n_words} words, analysis from {result.analysis_from}, {result.seconds:.1f} s)",
                  highlight=False, soft_wrap=True)
    for note in result.notes:
        summary.print(f"[bold]note[/] {escape(note)}", highlight=False, soft_wrap=True)


@app.command()
def styles(
    culture: Culture = typer.Option("western", help="Culture preset to show."),
    age: AgeGroup = typer.Option("adult", help="Age group to apply."),
    style_file: Optional[Path] = typer.Option(None, "--style-file", help="TOML overrides to apply on top.", show_default=False),
) -> None:
    """Show the style of a typical, confident word of each emotion (what a --style-file overrides)."""
    from rich.table import Table

    from ..style import Style

    chosen = Style(culture.value, age.value, style_file)
    presets = chosen.table()
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
    for note in chosen.notes():
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


# --- training and evaluation of the emotion head (cli_training.py), last in --help ------------

app.command()(cli_training.train)
app.command("train-text")(cli_training.train_text)
app.command()(cli_training.evaluate)


def main(argv: Sequence[str] | None = None) -> ExitStatus:
    """Run the command line on ``argv`` (default: the process's arguments); returns the exit status.

    Typed errors print as one line with their own status; anything else as one line too, with
    exit status 1 (``SENTIMENTOGRAM_DEBUG=1`` shows its traceback); usage errors as click shows
    them (status 2); Ctrl-C as "interrupted" (130). Never a traceback, never ``SystemExit``.
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        if "--ray" in args:  # "--ray" alone or "--ray ADDRESS": Typer has no optional option values
            from ..distributed import ray_argument

            args = ray_argument(args)
        if app(args=args, prog_name="sentimentogram", standalone_mode=False) == ExitStatus.INTERRUPTED:
            raise KeyboardInterrupt  # Typer turns Ctrl-C into Exit(130) and returns its code
    except typer.Exit as exc:  # --version
        return ExitStatus(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad option, bad choice, missing argument
        exc.show()  # type: ignore[attr-defined]  # Typer's vendored ClickException, which is one
        return ExitStatus(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        console.print("[yellow]interrupted[/]")
        return ExitStatus.INTERRUPTED
    except Exception as exc:
        error = as_error(exc)
        console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        return ExitStatus(error.exit_status)
    return ExitStatus.SUCCESS
