"""The public Python API: what ``import sentimentogram_cli as sg`` offers, and the README's
example run exactly as written."""

import inspect
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import sentimentogram_cli as sg
from sentimentogram_cli.analyser import Analyser

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ravdess_actor18.mp4"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_every_public_name_exists_and_says_what_it_returns():
    for name in sg.__all__:
        obj = getattr(sg, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name
    for cls in (sg.Analyser, sg.Analysis):
        for name, member in vars(cls).items():
            if not name.startswith("_") and callable(getattr(member, "__func__", member)):
                assert member.__doc__, f"{cls.__name__}.{name}"


@pytest.mark.parametrize("make", [lambda: sg.Analyser(device="tpu"), lambda: sg.Analyser(backend="whisper.cpp"),
                                  lambda: sg.AnalysisOptions(hop=4.0), lambda: sg.AnalysisOptions(window=100),
                                  lambda: sg.Style(culture="martian"), lambda: sg.OutputOptions(formats="pdf")])
def test_bad_settings_are_usage_errors_when_made(make):
    with pytest.raises(sg.UsageError) as caught:
        make()
    assert caught.value.exit_status == sg.ExitStatus.USAGE


def test_errors_are_typed_never_system_exit(tmp_path):
    analyser = sg.Analyser(device="cpu")
    with pytest.raises(sg.InputError):
        analyser.analyse(tmp_path / "missing.mp4")
    (tmp_path / "notes.mp4").write_text("not a video\n" * 20)
    with pytest.raises(sg.MediaError):
        analyser.analyse(tmp_path / "notes.mp4")
    with pytest.raises(sg.UsageError):
        analyser.analyse(np.zeros((2, 100), np.float32))  # not mono
    with pytest.raises(sg.DocumentError):
        sg.Analysis.load(tmp_path / "notes.mp4")


def test_an_array_is_analysed_and_cached_only_when_asked(monkeypatch, make_analysis, tmp_path):
    runs, heard = [], []

    def run(self, name, kind, duration, load, options, progress):
        chunks, n = load(lambda f: None)
        runs.append((name, kind, duration, n, options.hop))
        return make_analysis(["hello"], source=name, media_kind=kind)

    monkeypatch.setattr(Analyser, "_run", run)
    analyser = sg.Analyser(device="cpu", head=tmp_path / "head.safetensors")
    audio = np.zeros(3 * 16_000, np.float32)
    analysis = analyser.analyse(audio, hop=0.5)
    assert runs == [("recording", "audio", 3.0, 48_000, 0.5)] and analysis.media_kind == "audio"
    analyser.analyse(audio, hop=0.5)
    assert len(runs) == 2 and not list(tmp_path.iterdir())  # no cache unless asked: nothing written
    first = analyser.analyse(audio, hop=0.5, cache=tmp_path / "cache")
    again = analyser.analyse(audio, hop=0.5, cache=tmp_path / "cache")
    assert len(runs) == 3 and again == first  # the second came from the cache
    analyser.analyse(audio + 0.1, hop=0.5, cache=tmp_path / "cache")
    assert len(runs) == 4  # other samples, another key


def test_a_document_is_saved_atomically_and_old_schemas_are_upgraded(make_analysis, tmp_path):
    analysis = make_analysis(["one", "two"])
    assert analysis.save(tmp_path / "a.json") == tmp_path / "a.json"
    assert sg.Analysis.load(tmp_path / "a.json") == analysis
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    old = {**analysis.to_dict(), "schema_version": 1, "settings": {"window": 3.0, "hop": 1.0, "culture": "eastern"}}
    for line in old["lines"]:
        line.pop("utterance", None)  # fields later versions added
    upgraded = sg.Analysis.from_dict(old)
    assert upgraded.schema_version == sg.SCHEMA_VERSION and upgraded.settings == {"window": 3.0, "hop": 1.0}
    assert upgraded.words == analysis.words


@pytest.mark.slow
@pytest.mark.skipif(not EXAMPLE.is_file(), reason="examples/ravdess_actor18.mp4 is missing")
def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    """The README's Python block, unchanged, on a 5-second cut of the example video; the head is
    a small random one (the shipped head's quality is test_end_to_end's business)."""
    import sentimentogram_cli.analyser as analyser_module
    from test_emotions import small_head

    head = tmp_path / "head.safetensors"
    small_head(head)
    monkeypatch.setattr(analyser_module, "head_checkpoint_path", lambda: head)
    monkeypatch.setattr(analyser_module, "_default", None)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(EXAMPLE), "-t", "5", "-c", "copy",
                    str(tmp_path / "talk.mp4")], check=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SENTIMENTOGRAM_CACHE_DIR", str(tmp_path / "cache"))
    exec(compile(readme_example(), "README.md", "exec"), {})
    for name in ("talk.vtt", "talk.json", "copy.json", "talk.html", "talk.srt"):
        assert (tmp_path / name).is_file(), name
    assert sg.Analysis.load("copy.json") == sg.Analysis.load("talk.json")
    assert 'src="talk.mp4"' in (tmp_path / "talk.html").read_text(encoding="utf-8")
