"""What the command line prints about finished work: one input's summary, a batch's results
table, a line per finished batch input. The library returns results (``RenderResult``,
``BatchReport``); only this module turns them into Rich text.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .options import console

__all__ = ["print_summary", "results_table", "print_done"]

_STATUS_STYLE = {"rendered": "green", "restyled": "cyan", "skipped": "dim", "failed": "bold red"}


def print_summary(result, out: Console) -> None:
    """One render or restyle (a ``RenderResult``): input, words, the time of each stage that ran,
    the speed (only when a model ran: a cached analysis has none), outputs and notes."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("input", escape(str(result.input)))
    table.add_row("duration", f"{result.duration:.1f} s" + (f", language {escape(result.language)}" if result.language else ""))
    if result.status == "skipped":
        table.add_row("status", "outputs up to date: nothing to do (--force renders them again)")
    elif result.n_words:
        mix = " · ".join(f"{label} {share:.0%}" for label, share in result.emotion_mix.items())
        table.add_row("words", f"{result.n_words}   {mix}")
    else:
        table.add_row("words", "no speech found: the page says so")
    if result.status == "restyled":
        table.add_row("analysis", "reused (cache or document): no model ran")
    if result.stage_seconds:
        table.add_row("time", " · ".join(f"{stage} {s:.1f} s" for stage, s in result.stage_seconds.items()))
    if result.duration > 0 and result.status == "rendered":  # a speed is the models' speed
        table.add_row("speed", f"{result.realtime_factor:.2f}× real time "
                               f"({result.total_seconds:.1f} s for {result.duration:.1f} s of media)")
    for path in result.outputs:
        table.add_row("wrote" if result.status != "skipped" else "kept", escape(str(path)))
    for note in result.notes:
        table.add_row("note", escape(note))
    out.print(table)


def results_table(report) -> Table:
    """A batch (``BatchReport``) as a table: each input, its status, the media's duration, the time
    it took (and its real-time factor, so a slow file stands out), and what it wrote (or why not),
    with its notes."""
    n_failed = len(report.failed)
    table = Table(title=f"{len(report.entries)} inputs, {n_failed} failed" if n_failed else
                  f"{len(report.entries)} inputs", title_justify="left", header_style="bold")
    for column in ("input", "status", "duration", "time", "× real time", "outputs"):
        table.add_column(column, overflow="fold")
    for e in report.entries:
        style = _STATUS_STYLE.get(e.status, "")
        what = (f"[red]{escape(e.error)}[/]" if e.status == "failed"
                else "\n".join([escape(str(p)) for p in e.outputs] + [f"[yellow]{escape(n)}[/]" for n in e.notes]))
        rtf = f"{e.seconds / e.duration:.2f}" if e.duration and e.status == "rendered" else ""
        table.add_row(escape(e.name), f"[{style}]{e.status}[/]", f"{e.duration:.1f} s" if e.duration else "",
                      f"{e.seconds:.1f} s", rtf, what)
    return table


def print_done(entry) -> None:
    """A line when a batch input ends: its error, or its status and time."""
    if entry.status == "failed":
        console.print(f"[bold red]error:[/] {escape(entry.error)}", highlight=False, soft_wrap=True)
    else:
        console.print(f"  {entry.status} in {entry.seconds:.1f} s", highlight=False)
