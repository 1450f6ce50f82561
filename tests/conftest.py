"""Shared fixtures: the CLI run in-process (as httpie tests do), with its exit code and output."""

import pytest


@pytest.fixture(autouse=True)
def _private_analysis_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own analysis cache: a cache hit from another test (or the user's own
    ~/.cache) must not change what a test sees."""
    monkeypatch.setenv("SENTIMENTOGRAM_CACHE_DIR", str(tmp_path_factory.mktemp("analysis-cache")))


@pytest.fixture
def run_cli(capsys):
    from sentimentogram_cli.cli import main

    def run(args: list[str]) -> tuple[int, str]:
        code = main(args)  # never SystemExit: main returns the status
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


@pytest.fixture(scope="session")
def make_analysis():
    """Builds a real Analysis from word texts: evenly timed, emotions cycling over EMOTIONS.

    ``make_analysis(["Hello", "world"], step=0.3, per_line=5)``; pass ``emotions=[...]`` or
    ``confidence=`` to pin them; the VAD of each word is its emotion's typical VAD.
    """
    from sentimentogram_cli.document import AnalysedWord, Analysis, Line, WordEmotion
    from sentimentogram_cli.constants import CATEGORY_VAD, EMOTIONS

    def build(texts, *, start=0.5, step=0.3, per_line=5, emotions=None, confidence=0.9,
              media_kind="video", duration=None, source="clip.mp4"):
        words = []
        for i, text in enumerate(texts):
            emotion = (emotions or EMOTIONS)[i % len(emotions or EMOTIONS)]
            v, a, d = CATEGORY_VAD.get(emotion, CATEGORY_VAD["neutral"])
            audio = 0.3 + 0.4 * (i % 3) / 2
            feeling = WordEmotion(emotion=emotion, confidence=confidence,
                                  probabilities={e: (confidence if e == emotion else
                                                     (1 - confidence) / (len(EMOTIONS) - 1))
                                                 for e in EMOTIONS},
                                  valence=v, arousal=a, dominance=d,
                                  audio_gate=audio, text_gate=1 - audio)
            t0 = round(start + i * step, 3)
            words.append(AnalysedWord(text=f" {text}", start=t0, end=round(t0 + step * 0.9, 3),
                                      probability=0.95, emotion=feeling))
        lines = [Line(start=chunk[0].start, end=chunk[-1].end, words=chunk)
                 for chunk in (words[i:i + per_line] for i in range(0, len(words), per_line))]
        end = words[-1].end + 0.5 if words else 1.0
        return Analysis(source=source, media_kind=media_kind, duration=duration or end,
                        language="en", labels=list(EMOTIONS), lines=lines)

    return build


@pytest.fixture(scope="session")
def chromium_executable():
    """Debian's chromium for the browser tests; they are skipped, with the reason, without it."""
    from pathlib import Path

    path = Path("/usr/bin/chromium")
    if not path.exists():
        pytest.skip("browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser test needs the playwright package")
    return str(path)


@pytest.fixture(scope="module")
def browser(chromium_executable):
    """Headless Chromium with the flags this closed network needs (no background requests)."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--autoplay-policy=no-user-gesture-required"]
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_executable, args=args)
        yield instance
        instance.close()
