"""The README's command lines as written: every one parses (its command, options and choices
exist), and the batch, restyle and burn examples run in a folder laid out as they
assume. The analyses of the example videos are put in the cache first (``seed_analysis``), so no
model runs; the Python block runs with the real models in ``test_api.py``.
"""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest
import typer.main

from sentimentogram_cli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[list[str]]:
    """Each ``sentimentogram ...`` line of the README's shell blocks, split as a shell would
    (comments dropped, ``&&`` chains cut), without the program name."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in text.split("```")[1::2]:  # the fenced blocks; their first line is the language
        language, _, body = block.partition("\n")
        if language.strip() not in ("", "sh", "bash", "console"):
            continue
        for line in body.splitlines():
            for part in line.split("&&"):
                if re.match(r"\s*(\S*/)?sentimentogram\s", part):
                    commands.append(shlex.split(part, comments=True)[1:])
    return commands


def test_the_readme_has_command_examples():
    assert len(readme_commands()) >= 10


@pytest.mark.parametrize("args", readme_commands(), ids=lambda a: " ".join(a)[:60])
def test_every_readme_command_parses(args):
    """Options, choices and arguments as click reads them (nothing runs)."""
    from sentimentogram_cli.distributed import ray_argument

    args = ray_argument(args) if "--ray" in args else args
    command, context, rest = typer.main.get_command(app), None, list(args)
    while isinstance(command, typer.core.TyperGroup):  # sentimentogram, then prefs
        context = command.make_context(context.info_name if context else "sentimentogram", [], parent=context,
                                       resilient_parsing=True)
        name, rest = rest[0], rest[1:]
        command = command.get_command(context, name)
        assert command is not None, f"no command {name!r}"
    command.make_context(name, rest, parent=context)  # raises click's UsageError on a bad option or choice


def test_the_batch_restyle_and_burn_examples_run_as_written(tmp_path, monkeypatch, make_video, seed_analysis,
                                                                   make_analysis, run_cli):
    monkeypatch.chdir(tmp_path)
    for name in ("talks/one.mp4", "talks/two.mp4", "other/three.mp4", "talk.mp4"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        seed_analysis(make_video(tmp_path / name, seconds=2))
    make_analysis(["Hello", "world", "again"], source="talk.mp4").save(tmp_path / "talk.json")
    wanted = {"render talks/": None, "restyle talk.json": None, "burn talk.mp4": None}
    for args in readme_commands():
        line = " ".join(args)
        key = next((k for k in wanted if line.startswith(k) and "--ray" not in line), None)
        if key is None or wanted[key] is not None:
            continue
        expanded = [m for a in args for m in (sorted(glob.glob(a)) if "*" in a else [a])]  # as the shell would
        code, output = run_cli(expanded)
        assert code == 0, (line, output)
        wanted[key] = line
    assert all(wanted.values()), wanted
    assert (tmp_path / "talks" / "one.ass").is_file() and (tmp_path / "other" / "three.srt").is_file()
    assert (tmp_path / "talk.html").is_file() and (tmp_path / "talk.subtitled.mp4").is_file()
