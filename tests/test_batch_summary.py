"""The batch summary shows each file's real-time factor (a slow file stands out) and its notes."""

from pathlib import Path

from rich.console import Console

from sentimentogram_cli.batch import BatchEntry, BatchReport
from sentimentogram_cli.cli.summaries import results_table


def _render(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_table_shows_real_time_factor_and_notes():
    report = BatchReport([
        BatchEntry("fast.mp4", "rendered", duration=10.0, outputs=[Path("fast.html")], seconds=5.0),
        BatchEntry("slow.wav", "rendered", duration=2.0, outputs=[Path("slow.html")], seconds=9.0,
                   notes=["language 'de' detected with probability 0.41 (unsure): pass --language CODE if it is wrong"]),
        BatchEntry("done.mp4", "skipped", duration=10.0, outputs=[Path("done.html")], seconds=0.1),
    ])
    text = _render(results_table(report))
    assert "× real time" in text
    assert "0.50" in text and "4.50" in text  # seconds / media seconds, per rendered file
    assert "(unsure): pass --language CODE" in text
    skipped_row = next(line for line in text.splitlines() if "done.mp4" in line)
    assert "0.01" not in skipped_row  # a skipped file took no processing worth a factor
