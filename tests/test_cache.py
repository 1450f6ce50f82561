"""The analysis cache, restyling and resume.

Most tests replace the model stages (``Analyser._run``) with a counter that returns a made-up
analysis: they test what is cached, skipped and rewritten, fast. One slow test runs the real
models (tiny.en and a small random head) to check that a restyle really loads none.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sentimentogram_cli.jobs as jobs
from sentimentogram_cli.analyser import Analyser, AnalysisOptions
from sentimentogram_cli.analysis_cache import AnalysisCache
from sentimentogram_cli.errors import ExitStatus
from conftest import SHARED_DATA, make_video_file  # the data folder and test media, in one place

ROOT = Path(__file__).resolve().parents[1]
RAVDESS_CLIP = SHARED_DATA / "emotional_speech/ravdess/Actor_01/03-01-05-01-01-01-01.opus"


make_video = make_video_file  # conftest: ffmpeg-made video, silent or a tone


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("media") / "clip.mp4")


@pytest.fixture
def talk(tmp_path, clip):
    return Path(shutil.copy(clip, tmp_path / "talk.mp4"))


@pytest.fixture
def fake_models(monkeypatch, make_analysis):
    """Counts model runs; each returns a small analysis naming the file it was given."""
    runs = []

    def run(self, name, kind, duration, load, options, progress):
        runs.append(name)
        progress("emotions", 0.0)
        progress("emotions", 1.0)
        return make_analysis(["Hello", "world", "again"], source=name)

    monkeypatch.setattr(Analyser, "_run", run)
    return runs


@pytest.fixture
def cli(run_cli, tmp_path):
    cache = tmp_path / "cache"
    head = tmp_path / "head.safetensors"
    head.write_bytes(b"fake head: only its hash is read when the models are faked")

    def run(*args: str) -> tuple[int, str]:
        return run_cli([*args, "--cache-dir", str(cache), "--head", str(head)])

    run.cache = cache
    run.head = head
    return run


def test_key_follows_models_and_settings_not_styling(tmp_path, talk):
    cache = AnalysisCache(tmp_path / "cache")
    head = tmp_path / "head.safetensors"
    head.write_bytes(b"one head")
    analyser, options = Analyser(head=head), AnalysisOptions()
    key = analyser.cache_key(talk, options, cache)
    assert Analyser(head=head, device="cpu").cache_key(talk, options, cache) == key  # where it runs: no matter
    other = [(Analyser(head=head), AnalysisOptions(window=4.0)), (Analyser(head=head), AnalysisOptions(hop=0.5)),
             (Analyser(head=head), AnalysisOptions(language="de")), (Analyser(asr_model="tiny.en", head=head), options),
             (Analyser(backend="openai-whisper", head=head), options), (Analyser(head=tmp_path / "none"), options)]
    keys = {a.cache_key(talk, o, cache) for a, o in other}
    assert key not in keys and len(keys) == len(other)
    head.write_bytes(b"a retrained head")
    assert analyser.cache_key(talk, options, cache) != key
    copy = Path(shutil.copy(talk, tmp_path / "renamed.mkv"))
    assert analyser.cache_key(copy, options, cache) == analyser.cache_key(talk, options, cache)
    with open(copy, "ab") as f:
        f.write(b"\0")
    assert analyser.cache_key(copy, options, cache) != analyser.cache_key(talk, options, cache)


def test_restyling_reuses_the_analysis(talk, cli, fake_models):
    code, output = cli("render", str(talk), "--json")
    assert code == 0, output
    first = (talk.with_suffix(".html")).read_text(encoding="utf-8")
    code, output = cli("render", str(talk), "--json", "--culture", "eastern", "--age", "senior", "--format", "html,vtt")
    assert code == 0, output
    assert fake_models == ["talk.mp4"]  # the second render ran no model
    assert "no model ran" in output
    assert talk.with_suffix(".html").read_text(encoding="utf-8") != first
    assert "culture" not in json.loads(talk.with_suffix(".json").read_text())["settings"]  # style is not analysis
    assert talk.with_suffix(".vtt").is_file()


def test_no_cache_runs_the_models_and_stores_nothing(talk, cli, fake_models):
    for _ in range(2):
        code, output = cli("render", str(talk), "--no-cache")
        assert code == 0, output
    assert fake_models == ["talk.mp4", "talk.mp4"]
    assert not cli.cache.exists()


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    from sentimentogram_cli.analysis_cache import default_cache_dir

    monkeypatch.delenv("SENTIMENTOGRAM_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "sentimentogram"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "sentimentogram"
    monkeypatch.setenv("SENTIMENTOGRAM_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_a_damaged_cache_entry_is_a_miss(talk, cli, fake_models):
    assert cli("render", str(talk))[0] == 0
    for entry in (cli.cache / "analyses").iterdir():
        entry.write_text("{not json", encoding="utf-8")
    code, output = cli("render", str(talk), "--culture", "eastern")
    assert code == 0, output
    assert fake_models == ["talk.mp4", "talk.mp4"]


def test_an_unwritable_cache_costs_speed_not_the_render(talk, run_cli, fake_models, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    code, output = run_cli(["render", str(talk), "--cache-dir", str(blocker / "cache"), "--head", str(blocker)])
    assert code == 0, output
    assert talk.with_suffix(".html").is_file() and "cache not written" in output


def test_rerun_skips_outputs_that_are_up_to_date(talk, cli, fake_models):
    page = talk.with_suffix(".html")
    assert cli("render", str(talk))[0] == 0
    written = page.stat().st_mtime_ns
    code, output = cli("render", str(talk))
    assert code == 0 and "up to date" in output
    assert page.stat().st_mtime_ns == written
    for change in ("--force", "--culture=eastern", "--format=html,srt"):
        code, output = cli("render", str(talk), change)
        assert code == 0 and "up to date" not in output, (change, output)
    page.unlink()  # a deleted output is rendered again
    assert "up to date" not in cli("render", str(talk), "--format=html,srt")[1]
    assert page.is_file()
    assert fake_models == ["talk.mp4"]  # every rerun above restyled from the cache


def test_a_changed_input_is_analysed_again(talk, cli, fake_models):
    assert cli("render", str(talk))[0] == 0
    make_video(talk, seconds=2)  # new content at the same path
    code, output = cli("render", str(talk))
    assert code == 0 and "up to date" not in output
    assert fake_models == ["talk.mp4", "talk.mp4"]


def test_restyle_renders_from_the_document_alone(talk, make_analysis, run_cli, monkeypatch):
    monkeypatch.setattr(jobs, "default_analyser", None)  # nothing may even build an Analyser
    document = talk.with_suffix(".json")
    document.write_text(make_analysis(["Hi", "</script>"], source="talk.mp4").to_json(), encoding="utf-8")
    code, output = run_cli(["restyle", str(document), "--culture", "eastern", "--format", "html,vtt,ass"])
    assert code == 0, output
    assert 'src="talk.mp4"' in talk.with_suffix(".html").read_text(encoding="utf-8")
    assert "PlayResX: 64" in talk.with_suffix(".ass").read_text(encoding="utf-8")
    # Moved away from its media: the page says so instead of linking to nothing.
    moved = talk.parent / "docs"
    moved.mkdir()
    shutil.move(document, moved / "talk.json")
    code, output = run_cli(["restyle", str(moved / "talk.json")])
    assert code == 0 and "--media" in output
    code, output = run_cli(["restyle", str(moved / "talk.json"), "--media", str(talk), "--out", str(moved / "p.html")])
    assert code == 0, output
    assert 'src="../talk.mp4"' in (moved / "p.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("case, expected", [("missing", ExitStatus.INPUT_NOT_FOUND),
                                            ("garbage", ExitStatus.NOT_MEDIA),
                                            ("old_schema", ExitStatus.NOT_MEDIA),
                                            ("onto_itself", ExitStatus.OUTPUT_NOT_WRITABLE)])
def test_restyle_errors_are_one_line(case, expected, tmp_path, make_analysis, run_cli):
    document = tmp_path / "talk.json"
    if case == "garbage":
        document.write_text("[1, 2", encoding="utf-8")
    elif case == "old_schema":
        document.write_text(json.dumps({**make_analysis(["a"]).to_dict(), "schema_version": 0}), encoding="utf-8")
    elif case == "onto_itself":
        document.write_text(make_analysis(["a"]).to_json(), encoding="utf-8")
    before = document.read_bytes() if document.exists() else None
    code, output = run_cli(["restyle", str(document), "--format", "html,json"])
    assert code == expected, output
    assert output.strip().startswith("error:") and "Traceback" not in output
    assert (document.read_bytes() if document.exists() else None) == before
    assert not (tmp_path / "talk.html").exists()


def test_restyle_of_a_ten_minute_video_loads_no_model_and_writes_what_the_api_writes(tmp_path, make_analysis):
    """The real CLI in a fresh process, a cached analysis of a 10-minute video (1,800 words): no
    model library is even imported, and the subtitles are exactly the API's for that analysis.
    (How fast this is belongs to a benchmark, not a test.)"""
    from sentimentogram_cli.output.subtitles import to_srt, to_vtt
    from sentimentogram_cli.style import Style

    video = make_video(tmp_path / "lecture.mp4", seconds=600)
    head = tmp_path / "head.safetensors"
    head.write_bytes(b"a head")
    cache = AnalysisCache(tmp_path / "cache")
    words = [f"word{i}" for i in range(1800)]
    analysis = make_analysis(words, step=0.33, per_line=10, source="lecture.mp4", duration=600.0)
    cache.store(Analyser(head=head).cache_key(video, AnalysisOptions(), cache), analysis)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["render", str(video), "--head", str(head), "--cache-dir", str(cache.root), "--culture", "eastern",
            "--format", "html,vtt,srt,ass"]
    script = ("import sys; from sentimentogram_cli.cli import main; code = main(sys.argv[1:]); "
              "print('loaded:', sorted(m for m in ('torch', 'faster_whisper', 'ctranslate2', 'transformers') "
              "if m in sys.modules)); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "no model ran" in done.stdout and "loaded: []" in done.stdout
    assert len(to_words(tmp_path / "lecture.srt")) == 1800
    assert (tmp_path / "lecture.srt").read_bytes().decode("utf-8") == to_srt(analysis)  # bytes: line ends too
    assert (tmp_path / "lecture.vtt").read_bytes().decode("utf-8") == to_vtt(analysis, Style("eastern"))


def to_words(srt: Path) -> list[str]:
    blocks = srt.read_text(encoding="utf-8").strip().split("\n\n")
    return [w for b in blocks for line in b.splitlines()[2:] for w in line.split()]  # a cue may hold two lines


@pytest.mark.slow
@pytest.mark.skipif(not RAVDESS_CLIP.is_file(), reason="RAVDESS clip not found in ../shared/data")
def test_real_models_run_once_then_restyle_loads_none(tmp_path, run_cli, monkeypatch, small_head):
    head = tmp_path / "head.safetensors"
    small_head(head)
    speech = tmp_path / "speech.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=64x48:r=5:d=4",
                    "-i", str(RAVDESS_CLIP), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-shortest", str(speech)], check=True)
    args = ["render", str(speech), "--asr-model", "tiny.en", "--head", str(head), "--cache-dir", str(tmp_path / "c")]
    code, output = run_cli([*args, "--json"])
    assert code == 0, output
    analysed = json.loads(speech.with_suffix(".json").read_text())
    monkeypatch.setattr(Analyser, "head", property(lambda self: pytest.fail("a model was loaded")))
    code, output = run_cli([*args, "--json", "--culture", "eastern", "--format", "html,ass"])
    assert code == 0, output
    again = json.loads(speech.with_suffix(".json").read_text())
    assert again["lines"] == analysed["lines"]
