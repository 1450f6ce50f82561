"""The `sentimentogram prefs survey|fit|show|evaluate` commands: their options, what they do,
and how they print it. ``app`` is the sub-app the main CLI adds as ``prefs``."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .options import DATA_ENV, Culture, typer_app
from .options import console as stderr_console
from ..constants import EMOTIONS
from ..errors import OutputError, UsageError
from ..atomic import atomic_write_text
from ..preferences.data import AnswersError, load_answers
from ..preferences.evaluate import EvaluationReport, EvaluationRow, evaluate
from ..preferences.fit import Score, fit_personal, fit_population
from ..preferences.profile import PRIOR_PATH, choose_style, load_profile, population_prior
from ..preferences.ranker import POPULATION_GRID
from ..preferences.space import CONTEXT, FEATURE_LABELS, FEATURES

__all__ = ["app", "run_survey", "run_fit", "run_show", "run_evaluate", "evaluation_markdown"]

SEED_STUDY = Path("preferences") / "seed_user_study"  # inside the corpora folder ($SENTIMENTOGRAM_DATA)


def _percent(score: Score | None) -> str:
    if score is None:
        return "—"
    low, high = score.interval()
    return f"{100 * score.accuracy:.1f}% [{100 * low:.1f}–{100 * high:.1f}] n={score.n}"


def _output(path: Path, default_name: str) -> Path:
    path = Path(path)
    path = path / default_name if path.is_dir() else path
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    return path


def run_survey(out: Path, pairs: int, seed: int, console: Console) -> None:
    from ..output.survey import render_survey

    path = _output(out, "survey.html")
    atomic_write_text(path, render_survey(pairs, seed))
    console.print(f"wrote {escape(str(path))}: open it in a browser, answer {pairs} pairs, save the answers, then "
                  f"run [bold]sentimentogram prefs fit sentimentogram-answers.json --out profile.json[/]")


def run_fit(answers: list[Path], out: Path, population: bool, prior_path: Path | None, seed: int,
            console: Console) -> None:
    people = []
    for path in answers:
        found = load_answers([path])
        if len(found) > 1 and not population:
            raise AnswersError(f"{path} holds {len(found)} people's answers: add --population to fit a "
                               "population prior, or give one person's answers")
        people += found
    if not people:
        raise AnswersError("the answers hold no comparisons")
    path = _output(out, "profile.json")
    if population:
        with Progress(TextColumn("choosing the prior precision"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task("", total=len(people))
            profile = fit_population(people, seed, tick=lambda: bar.advance(task))
        profile.save(path)
        louo = Score(profile.evaluation["accuracy"] * profile.evaluation["n"], profile.evaluation["n"])
        console.print(f"population prior from {profile.n_people} people, {profile.n_comparisons} comparisons: "
                      f"precision {profile.population_precision:g} (of {list(POPULATION_GRID)}); a person's "
                      f"shrinkage: {profile.shrinkage.describe()}")
        console.print(f"leave-one-person-out pairwise accuracy {_percent(louo)}")
    else:
        prior = load_profile(prior_path) if prior_path else population_prior()
        if prior.kind != "population":
            raise AnswersError(f"{prior_path} is a personal profile: --prior takes a population prior")
        profile = fit_personal(people, prior, str(prior_path) if prior_path else f"shipped {PRIOR_PATH.name}")
        profile.save(path)
        e = profile.evaluation
        console.print(f"profile from {profile.n_comparisons} answers ({escape(profile.attributes.describe())})")
        console.print(f"cross-validated pairwise accuracy (leave one answer out): "
                      f"{_percent(Score(e['accuracy'] * e['n'], e['n']))}; the population prior alone: "
                      f"{_percent(Score(e['prior_only']['accuracy'] * e['n'], e['n']))}")
        console.print(_side_note(profile))
        for emotion in EMOTIONS:
            changes = choose_style(profile, "western", emotion).changes
            if changes:
                console.print(f"  {emotion}: " + ", ".join(escape(f"{c.chosen}") for c in changes))
    console.print(f"wrote {escape(str(path))}")


def _side_note(profile) -> str:
    """How often the left answer was picked, and what that means for the profile."""
    left, n = profile.evaluation.get("left_chosen"), profile.n_comparisons
    if left is None or not n:
        return ""
    note = f"left answer picked in {left} of {n} pairs"
    if left in (0, n):
        note += ": every answer on one side, so the answers say little about your taste; retake the survey"
    return note


def certainty(profile) -> str:
    """One line on how sure a profile is: its answers and its held-out accuracy estimate."""
    e = profile.evaluation
    if profile.kind == "population":
        return (f"population prior from {profile.n_people} people, {profile.n_comparisons} comparisons; "
                f"it predicts a new person's choices at {_percent(_score(e))} (leave one person out)")
    if not e.get("n"):
        return f"{profile.n_comparisons} answers; no held-out estimate stored: refit with `sentimentogram prefs fit`"
    prior = e.get("prior_only", {})
    return (f"{profile.n_comparisons} answers; held-out accuracy estimate (leave one answer out) {_percent(_score(e))}"
            + (f", the population prior alone {_percent(_score(prior))}" if prior.get("n") else "")
            + "; the interval is wide with this few answers: more answers make it narrower")


def _score(e: dict) -> Score | None:
    return Score(e["accuracy"] * e["n"], e["n"]) if e.get("n") else None


def run_show(profile_path: Path, culture: str, console: Console) -> None:
    import numpy as np

    from ..preferences.space import context_vector

    profile = load_profile(profile_path)
    console.print(f"[bold]{profile.kind} profile[/]: {escape(profile.attributes.describe())}; "
                  f"{profile.n_comparisons} comparisons from {profile.n_people} "
                  f"{'person' if profile.n_people == 1 else 'people'}")
    console.print(f"how sure: {escape(certainty(profile))}")
    if profile.kind == "personal" and _side_note(profile):
        console.print(escape(_side_note(profile)))
    tastes = np.mean([profile.weights @ context_vector(em, profile.attributes) for em in EMOTIONS], axis=0)
    order = np.argsort(-np.abs(tastes))[:4]
    console.print("strongest tastes (log-odds per unit, averaged over emotions): " + ", ".join(
        f"{FEATURE_LABELS[FEATURES[i]]} {tastes[i]:+.2f}" for i in order))
    table = Table(title=f"chosen styles · {culture} presets", title_justify="left", box=None,
                  header_style="bold underline")
    for column in ("emotion", "sample", "changes from the preset (log-odds gain)", "P(prefer)"):
        table.add_column(column)
    for emotion in EMOTIONS:
        choice = choose_style(profile, culture, emotion)
        s = choice.style
        bold = s.weight >= 600
        sample = f"[{s.color} on {s.background}]{'[b]' if bold else ''}{emotion}{'[/b]' if bold else ''}[/]"
        why = "; ".join(f"{c.axis}: {c.preset} → {c.chosen} ({c.gain:+.2f})" for c in choice.changes) or "preset kept"
        table.add_row(emotion, sample, escape(why), f"{1 / (1 + np.exp(-choice.gain)):.0%}")
    console.print(table)
    console.print(f"[dim]{len(FEATURES)} style features × {len(CONTEXT)} context features; an axis moves "
                  "only when the profile predicts a preference for the change[/]")


def _cells(row: EvaluationRow) -> list[str]:
    if row.method == "random":  # reported as its expectation, not as one draw of coin flips
        return [f"50.0% (expected) n={s.n}" if s else "—" for s in (row.louo, row.within)]
    return [_percent(row.louo), _percent(row.within)]


def evaluation_markdown(report: EvaluationReport) -> str:
    lines = ["| method | leave one person out | within person (half known, half predicted) |", "|---|---|---|"]
    lines += [f"| {row.method} | {' | '.join(_cells(row))} |" for row in report.rows]
    if report.curve:
        lines += ["", "| answers | study's order | adaptive order |", "|---|---|---|"]
        lines += [f"| {n} | {_percent(fixed)} | {_percent(adaptive)} |"
                  for n, (fixed, adaptive) in enumerate(zip(report.curve["fixed"], report.curve["adaptive"]))]
    return "\n".join(lines)


def _curve_table(report: EvaluationReport) -> Table:
    table = Table(title="adaptive survey, replayed: within-person accuracy on the held-out half after n answers "
                        "from the known half", title_justify="left", box=None, header_style="bold underline")
    for column in ("answers", "study's order", "adaptive order (most informative next)"):
        table.add_column(column)
    for n, (fixed, adaptive) in enumerate(zip(report.curve["fixed"], report.curve["adaptive"])):
        table.add_row(str(n), _percent(fixed), _percent(adaptive))
    return table


def run_evaluate(data: list[Path], seed: int, markdown: bool, console: Console) -> None:
    people = load_answers(data)
    if len(people) < 3:
        raise AnswersError("the evaluation needs the answers of at least three people")
    with Progress(TextColumn("people"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("", total=len(people))
        report = evaluate(people, seed, tick=lambda: bar.advance(task))
    table = Table(title=f"pairwise accuracy · {report.n_people} people, {report.n_comparisons} comparisons",
                  title_justify="left", box=None, header_style="bold underline",
                  caption="95% Wilson intervals over comparisons (people make the true spread wider)",
                  caption_justify="left")
    for column in ("method", "leave one person out", "within person (½ known → ½ predicted)"):
        table.add_column(column)
    for row in report.rows:
        table.add_row(row.method, *_cells(row))
    Console().print(table)
    Console().print(_curve_table(report))
    precisions = sorted(set(report.population_precisions))
    personal = Counter(s.describe() for s in report.shrinkages).most_common()
    Console().print(f"prior precisions chosen by inner cross-validation on the training people of each fold: "
                    f"population {precisions}; a person's shrinkage: "
                    + "; ".join(f"{k} ({n}×)" for k, n in personal) + f"; seed {seed}")
    if markdown:
        Console().print(evaluation_markdown(report), markup=False, highlight=False, soft_wrap=True)


# --- the command line: options parsed here, the work done by run_* above -----------------------

app = typer_app(help="Learn which subtitle styles you prefer: survey, fit, show, evaluate.", no_args_is_help=True)


@app.command("survey")
def survey_command(
    out: Path = typer.Option(Path("survey.html"), "--out", "-o", help="The survey page to write (or an existing folder for it)."),
    pairs: int = typer.Option(12, min=4, max=40, help="How many pairs of styles to ask about."),
    seed: int = typer.Option(0, help="Random seed for which side each style of a pair is shown on."),
) -> None:
    """Write a self-contained survey page: a few optional questions, then pairs of styled subtitles,
    each next pair the one the answers so far leave most open."""
    run_survey(out, pairs, seed, stderr_console)


@app.command("fit")
def fit_command(
    answers: List[Path] = typer.Argument(..., show_default=False, help="Saved survey answers (.json), or seed-study folders with --population."),
    out: Path = typer.Option(Path("profile.json"), "--out", "-o", help="The profile to write."),
    population: bool = typer.Option(False, "--population", help="Fit a population prior from many people's answers instead of one person's profile."),
    prior: Optional[Path] = typer.Option(None, "--prior", show_default=False, help="Population prior to start from. Default: the one shipped in the package."),
    seed: int = typer.Option(0, help="Seed for the inner cross-validation split (--population)."),
) -> None:
    """Fit a profile (pairwise logistic ranker) to answers, and print its cross-validated accuracy."""
    run_fit(answers, out, population, prior, seed, stderr_console)


@app.command("show")
def show_command(
    profile: Path = typer.Argument(..., show_default=False, help="A profile from `sentimentogram prefs fit`."),
    culture: Culture = typer.Option("western", help="Whose presets the chosen styles vary."),
) -> None:
    """Explain a profile: how sure it is, its tastes, and the style it chooses for each emotion and why."""
    run_show(profile, culture.value, stderr_console)


@app.command("evaluate")
def evaluate_command(
    data: Optional[List[Path]] = typer.Option(None, "--data", show_default=False, help=f"Answers to evaluate on: seed-study folders and/or survey answer files (repeatable). Default: ${DATA_ENV}/{SEED_STUDY}."),
    seed: int = typer.Option(0, help="Seed of the within-person halves."),
    markdown: bool = typer.Option(False, "--markdown", help="Also print the table as Markdown."),
) -> None:
    """Pairwise accuracy of random, majority style, culture/age rule and the learned ranker, two
    protocols; and the survey replayed in the study's order and the adaptive order."""
    if not data:
        if not os.environ.get(DATA_ENV):
            raise UsageError(f"pass --data (seed-study folders or answer files), or set {DATA_ENV}")
        data = [Path(os.environ[DATA_ENV]) / SEED_STUDY]
    run_evaluate(data, seed, markdown, stderr_console)
