"""Rich progress bars on stderr for the commands: one bar per analysis stage, a line per input of a
batch, and one bar of media seconds over a Ray batch. Each yields the callback the API takes.
"""

from __future__ import annotations

from contextlib import contextmanager

from rich.markup import escape

from .options import console

__all__ = ["stage_progress", "batch_progress", "media_progress"]


def batch_progress(total: int):
    @contextmanager
    def progress_for(i: int, item):
        console.print(f"[bold]\\[{i + 1}/{total}][/] {escape(item.name)}", highlight=False, soft_wrap=True)
        with stage_progress(transient=True) as update:
            yield update

    return progress_for


@contextmanager
def media_progress():
    """One bar over a --ray batch: seconds of media done of the total, and the workers."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[media]}"),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True)
    task = bar.add_task("starting Ray", total=None, media="")

    def update(p) -> None:
        bar.update(task, completed=p.done, total=p.total or None, media=f"{p.done:.0f}/{p.total:.0f} s of media, "
                   f"{p.finished}/{p.inputs} inputs", description=p.plan.describe() if p.plan else "starting Ray")

    with bar:
        yield update


@contextmanager
def stage_progress(stages: tuple[str, ...] | None = None, transient: bool = False):
    """A Rich progress bar per stage on stderr (default: the analysis stages and "page");
    yields the API's progress callback.

    The bars appear with the first stage, so an error found by the early checks prints alone.
    """
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from ..analyser import STAGES

    bars = Progress(TextColumn("{task.description:<10}"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), console=console, transient=transient)
    tasks: dict[str, TaskID] = {}

    def update(stage: str, fraction: float) -> None:
        if stage not in (stages or (*STAGES, "page")):
            return
        if not bars.live.is_started:
            bars.start()
        if stage not in tasks:  # a bar per stage that runs: a cached analysis shows only "page"
            tasks[stage] = bars.add_task(stage, total=1.0, start=False)
        if fraction == 0.0:
            bars.start_task(tasks[stage])
        bars.update(tasks[stage], completed=fraction)
        if fraction >= 1.0:
            bars.stop_task(tasks[stage])

    try:
        yield update
    finally:
        if bars.live.is_started:  # stopping bars never shown would print a stray blank line
            bars.stop()
