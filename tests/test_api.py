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
    runs = []

    def run(self, name, kind, duration, load, options, progress):
        chunks, n = load(lambda f: None)
        runs.append((name, kind, duration, n, options.hop))
        return make_analysis(["hello"], source=name, media_kind=kind)

    monkeypatch.setattr(Analyser, "_run", run)
    analyser = sg.Analyser(device="cpu", head=tmp_path / "head.safetensors")
    audio, half = np.zeros(3 * 16_000, np.float32), sg.AnalysisOptions(hop=0.5)
    analysis = analyser.analyse(audio, half, sample_rate=16_000)
    assert runs == [("recording", "audio", 3.0, 48_000, 0.5)] and analysis.media_kind == "audio"
    analyser.analyse(audio, half, sample_rate=16_000)
    assert len(runs) == 2 and not list(tmp_path.iterdir())  # no cache unless asked: nothing written
    first = analyser.analyse(audio, half, sample_rate=16_000, cache=tmp_path / "cache")
    again = analyser.analyse(audio, half, sample_rate=16_000, cache=tmp_path / "cache")
    assert len(runs) == 3 and again == first  # the second came from the cache
    analyser.analyse(audio + 0.1, half, sample_rate=16_000, cache=tmp_path / "cache")
    assert len(runs) == 4  # other samples, another key


def _seeded(analyser, audio, options, cache_root, make_analysis):
    """The analysis of ``audio`` (16 kHz) with ``options`` put in the cache: a hit runs no model."""
    cache = sg.AnalysisCache(cache_root)
    analysis = make_analysis(["seeded"], source="recording", media_kind="audio")
    cache.store(analyser.cache_key(audio, options, cache), analysis)
    return analysis


def test_options_are_one_argument_and_the_old_keywords_still_work_with_a_warning(tmp_path, make_analysis):
    """analyse(media, options=AnalysisOptions(...)); language=/window=/hop= fold into the same
    options for one more release. The head does not exist: any model run would fail."""
    analyser = sg.Analyser(device="cpu", head=tmp_path / "missing.safetensors")
    audio = np.zeros(16_000, np.float32)
    options = sg.AnalysisOptions(language="en", hop=0.5)
    seeded = _seeded(analyser, audio, options, tmp_path / "cache", make_analysis)
    assert analyser.analyse(audio, options, cache=tmp_path / "cache", sample_rate=16_000) == seeded
    with pytest.warns(DeprecationWarning, match="options=AnalysisOptions"):
        assert analyser.analyse(audio, language="en", hop=0.5, cache=tmp_path / "cache", sample_rate=16_000) == seeded
    with pytest.raises(TypeError, match="colour"):
        analyser.analyse(audio, colour="red")
    with pytest.raises(sg.UsageError, match="unknown language 'xx'"):
        sg.AnalysisOptions(language="xx")


def test_an_array_at_another_rate_is_resampled_and_one_without_a_rate_is_warned_about(tmp_path, make_analysis):
    from sentimentogram_cli.media import resample

    analyser = sg.Analyser(device="cpu", head=tmp_path / "missing.safetensors")
    tone = np.sin(2 * np.pi * 440 * np.arange(44_100 * 2) / 44_100).astype(np.float32)
    at_16k = resample(tone, 44_100)
    assert len(at_16k) == 32_000  # 2 s stay 2 s (taken as 16 kHz they would be 5.5 s)
    assert abs(np.argmax(np.abs(np.fft.rfft(at_16k[:16_000]))) - 440) <= 1  # 440 Hz stays 440 Hz
    seeded = _seeded(analyser, at_16k, sg.AnalysisOptions(), tmp_path / "cache", make_analysis)
    assert analyser.analyse(tone, cache=tmp_path / "cache", sample_rate=44_100) == seeded
    with pytest.warns(DeprecationWarning, match="sample_rate="):
        with pytest.raises(sg.ModelError):  # taken as 16 kHz: another key, and the models (missing) would run
            analyser.analyse(tone, cache=tmp_path / "cache")
    with pytest.raises(sg.UsageError, match="sample_rate"):
        analyser.analyse(tone, sample_rate=0)
    with pytest.raises(sg.UsageError, match="for arrays"):
        analyser.analyse(tmp_path / "x.mp4", sample_rate=44_100)


def test_burn_takes_output_and_the_old_out_with_a_warning(tmp_path):
    with pytest.raises(sg.InputError):
        sg.burn(tmp_path / "missing.mp4", output=tmp_path / "out.mp4")
    with pytest.warns(DeprecationWarning, match="output="):
        with pytest.raises(sg.InputError):
            sg.burn(tmp_path / "missing.mp4", out=tmp_path / "out.mp4")


def test_the_package_is_typed_and_exports_its_result_types():
    assert (Path(sg.__file__).parent / "py.typed").is_file()
    for name in ("Transcript", "RenderResult", "BurnResult", "RenderStatus", "BurnStatus", "AnalysisSource"):
        assert name in sg.__all__
    from typing import get_args

    assert set(get_args(sg.RenderStatus)) == {"rendered", "restyled", "skipped"}


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
def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, small_head):
    """The README's Python block, unchanged, on a 5-second cut of the example video; the head is
    a small random one (the shipped head's quality is test_end_to_end's business)."""
    import sentimentogram_cli.analyser as analyser_module
    head = tmp_path / "head.safetensors"
    small_head(head)
    monkeypatch.setattr(analyser_module, "head_checkpoint_path", lambda: head)
    monkeypatch.setattr(analyser_module, "_default", None)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(EXAMPLE), "-t", "5", "-c", "copy",
                    str(tmp_path / "talk.mp4")], check=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SENTIMENTOGRAM_CACHE_DIR", str(tmp_path / "cache"))
    from sentimentogram_cli.emotion import features

    loads = []
    for name in ("AudioEncoder", "TextEncoder"):  # the README's Analyser and sg.analyse share them
        cls = getattr(features, name)
        monkeypatch.setattr(cls, "__init__", lambda self, *a, _init=cls.__init__, _n=name, **k:
                            (loads.append(_n), _init(self, *a, **k))[1])
    exec(compile(readme_example(), "README.md", "exec"), {})
    assert sorted(loads) == ["AudioEncoder", "TextEncoder"], loads  # each loaded once
    for name in ("talk.vtt", "talk.json", "copy.json", "talk.html", "talk.srt"):
        assert (tmp_path / name).is_file(), name
    assert sg.Analysis.load("copy.json") == sg.Analysis.load("talk.json")
    assert 'src="talk.mp4"' in (tmp_path / "talk.html").read_text(encoding="utf-8")
