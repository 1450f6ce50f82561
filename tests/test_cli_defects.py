"""The command-line defects a new user met (issue 23), each reproduced as that user ran it.

No model runs here: the analysis of the test video is put in the test's analysis cache first
(``seed_analysis``), as an earlier render would have left it, so ``render`` takes the cache path
it takes in real use. Each test failed before its fix.
"""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def talk(tmp_path, make_video, seed_analysis):
    video = make_video(tmp_path / "talk.mp4", seconds=2)
    seed_analysis(video)
    return video


def test_render_after_a_restyle_renders_its_own_style_again(talk, run_cli):
    """render -> restyle --culture eastern -> render: the second render must not call the eastern
    page "up to date", it writes the western page again."""
    code, _ = run_cli(["render", str(talk), "--format", "html,json"])
    assert code == 0
    page = talk.with_suffix(".html")
    western = page.read_text()
    code, _ = run_cli(["restyle", str(talk.with_suffix(".json")), "--culture", "eastern"])
    assert code == 0 and page.read_text() != western
    code, output = run_cli(["render", str(talk), "--format", "html,json"])
    assert code == 0 and "up to date" not in output
    assert page.read_text() == western
    code, output = run_cli(["render", str(talk), "--format", "html,json"])  # now it is up to date
    assert code == 0 and "up to date" in output


def test_out_with_a_trailing_slash_is_a_folder_made_when_missing(talk, tmp_path, run_cli):
    code, output = run_cli(["render", str(talk), "--out", f"{tmp_path / 'newdir'}/"])
    assert code == 0, output
    assert (tmp_path / "newdir" / "talk.html").is_file()
    assert not (tmp_path / "newdir.html").exists()


def test_out_without_a_slash_is_still_a_file_name(talk, tmp_path, run_cli):
    code, _ = run_cli(["render", str(talk), "--out", str(tmp_path / "page")])
    assert code == 0 and (tmp_path / "page.html").is_file()


def test_an_unknown_language_is_a_usage_error_before_anything_runs(talk, run_cli):
    code, output = run_cli(["render", str(talk), "--language", "xx", "--no-cache"])
    assert code == 2
    assert output.strip().splitlines() == ["error: unknown language 'xx': use a Whisper language code such as en, "
                                           "de, fr, es, pl, zh (leave it out to detect it)"]
    assert "transcribe" not in output and not talk.with_suffix(".html").exists()


def test_the_language_list_is_faster_whispers():
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    from sentimentogram_cli.constants import LANGUAGES

    assert set(LANGUAGES) == set(_LANGUAGE_CODES)


def test_help_text_is_printed_as_written(run_cli):
    code, output = run_cli(["render", "--help"])
    assert code == 0
    assert "pip install 'sentimentogram[ray]'" in " ".join(output.split())  # no markup eats [ray]
    assert "Usage: sentimentogram render [OPTIONS] INPUT..." in output and "{INPUT" not in output
    assert "<bool>" not in output and "<list[str]>" not in output
    assert "--json" not in output  # the old spelling of --format html,json still works, unlisted
    code, output = run_cli(["restyle", "--help"])
    assert "Usage: sentimentogram restyle [OPTIONS] ANALYSIS" in output
    code, output = run_cli(["--help"])
    assert "<bool>" not in output


def test_burn_help_does_not_promise_switching_on_the_page(run_cli):
    code, output = run_cli(["burn", "--help"])
    assert code == 0 and "switchable" not in output


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_training_commands_share_the_render_names(command, run_cli):
    code, output = run_cli([command, "--help"])
    text = " ".join(output.split())
    assert "--cache-dir" in text
    assert re.search(r"--device \[auto\|cpu\|cuda\]|--device <auto\|cpu\|cuda>", text), text
    if command == "evaluate":
        assert "--head" in text
    code, output = run_cli([command, "--device", "gpu"])
    assert code == 2 and "gpu" in output  # a choice now, as in render


def test_evaluate_takes_the_old_checkpoint_name_too(run_cli, tmp_path):
    code, output = run_cli(["evaluate", "--checkpoint", str(tmp_path / "missing.safetensors"),
                            "--labels", str(tmp_path / "missing.csv")])
    assert code != 2, output  # parsed: it fails on the missing files, not on the option


def test_training_commands_need_a_data_folder(run_cli, monkeypatch):
    monkeypatch.delenv("SENTIMENTOGRAM_DATA", raising=False)
    code, output = run_cli(["train-text"])
    assert code == 2 and "--data" in output and "SENTIMENTOGRAM_DATA" in output


def test_no_speed_is_claimed_when_the_cache_answered(talk, run_cli):
    code, output = run_cli(["render", str(talk)])
    assert code == 0 and "reused" in output
    assert "real time" not in output and "0.00×" not in output


def test_a_style_file_value_the_mapper_changes_is_named_in_one_note(talk, tmp_path, run_cli):
    style = tmp_path / "style.toml"
    style.write_text('[western.angry]\ncolor = "#222222"\nsize = 2.0\n')
    code, output = run_cli(["render", str(talk), "--style-file", str(style)])
    assert code == 0
    assert len([line for line in output.splitlines() if line.startswith("note")]) == 1
    text = " ".join(output.split())  # the summary wraps at the terminal's width
    assert "note style adjusted to stay readable: [western.angry] color #222222 shows as #7f7f7f" in text
    assert "size 2 shows as 1.70" in text
    code, output = run_cli(["styles", "--style-file", str(style)])
    assert "#222222 shows as #7f7f7f" in output


def test_the_vtt_has_lf_line_ends(talk, run_cli):
    code, _ = run_cli(["render", str(talk), "--format", "vtt"])
    data = talk.with_suffix(".vtt").read_bytes()
    assert code == 0 and b"\r" not in data and data.startswith(b"WEBVTT\n\nSTYLE\n")


def test_train_text_layers_are_checked_before_any_work(run_cli, tmp_path):
    from sentimentogram_cli.cli.train_commands import parse_text_layers

    assert parse_text_layers("5,4") == (4, 5) and parse_text_layers("0,1,2,3,4,5") == tuple(range(6))
    (tmp_path / "text" / "meld").mkdir(parents=True)
    for bad in ("6", "four", ""):
        code, output = run_cli(["train-text", "--data", str(tmp_path), "--layers", bad, "--out", str(tmp_path / "d.st")])
        assert code != 0 and "--layers" in output and "Traceback" not in output, output
