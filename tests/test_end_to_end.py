"""End to end: the real models on the bundled example, and hostile transcripts in a real browser."""

import json
import os
import shutil
from pathlib import Path

import pytest

from sentimentogram_cli.assets import head_checkpoint_path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ravdess_actor18.mp4"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = "</script><script>alert(1)</script>"


@pytest.mark.slow
@pytest.mark.skipif(not head_checkpoint_path().is_file(),
                    reason=f"the shipped emotion head {head_checkpoint_path().name} is not in the package yet "
                           "(train it with `sentimentogram train`)")
@pytest.mark.skipif(not EXAMPLE.is_file(), reason=f"{EXAMPLE.relative_to(ROOT)} is missing")
def test_render_example_with_the_shipped_head(tmp_path, run_cli):
    from sentimentogram_cli.emotion.head import EmotionHead

    head = EmotionHead.load()
    page = tmp_path / "actor01.html"
    code, output = run_cli(["render", str(EXAMPLE), "--out", str(page), "--json", "--device", "cpu"])
    assert code == 0, output
    assert page.is_file() and page.with_suffix(".json").is_file()

    data = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["labels"] == list(head.labels)
    assert data["models"] == {"asr": "whisper-base", "audio_encoder": head.metadata.audio_encoder,
                              "text_encoder": head.metadata.text_encoder, "head": head.metadata.version}
    assert data["media_kind"] == "video" and data["language"] == "en"
    words = [w for line in data["lines"] for w in line["words"]]
    assert len(words) >= 10, "the example is several spoken sentences"
    for w in words:
        e = w["emotion"]
        assert e["emotion"] in head.labels
        assert sum(e["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        assert e["confidence"] == max(e["probabilities"].values())
        assert e["text_gate"] + e["audio_gate"] == pytest.approx(1.0, abs=1e-3)
    assert all(a["start"] <= b["start"] for a, b in zip(words, words[1:]))

    html = page.read_text(encoding="utf-8")
    # Linked, not embedded, by its path relative to the page's folder.
    relative = Path(os.path.relpath(EXAMPLE, tmp_path)).as_posix()
    assert f'src="{relative}"' in html
    if Path(CHROMIUM).is_file():
        _play_and_follow_the_words(page, words)


def _play_and_follow_the_words(page_path: Path, words: list[dict]) -> None:
    """The real page on the real example: seeking to each word's start activates that word, and
    playing through activates the words in order. (The 0.1 s playback timing is checked by
    test_page_browser.py; here a loaded CI machine must not make the check flaky.)"""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        try:
            tab = browser.new_context(bypass_csp=True).new_page()
            tab.goto(page_path.as_uri())
            tab.wait_for_function("document.getElementById('media').readyState >= 1", timeout=15_000)
            for word in words:
                active = tab.evaluate("""async (t) => {
                    const media = document.getElementById('media');
                    await new Promise(done => { media.addEventListener('seeked', done, {once: true}); media.currentTime = t; });
                    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
                    const active = document.querySelector('#caption .word.active');
                    return active ? parseFloat(active.dataset.start) : null;
                }""", word["start"] + 0.02)
                assert active == pytest.approx(word["start"], abs=1e-3), f"{word['text']!r} is not active at its start"
            tab.evaluate("""() => {
                window.__starts = [];
                const media = document.getElementById('media');
                new MutationObserver(() => {
                    const active = document.querySelector('#caption .word.active');
                    if (active) window.__starts.push(parseFloat(active.dataset.start));
                }).observe(document.getElementById('caption'), {subtree: true, attributes: true, childList: true});
                media.currentTime = 0;
                media.muted = true;
                return media.play();
            }""")
            tab.wait_for_function("document.getElementById('media').ended", timeout=90_000)
            starts = tab.evaluate("window.__starts")
        finally:
            browser.close()
    starts = starts[starts.index(min(starts)):]  # from the rewind to 0 on
    assert starts == sorted(starts) and len(set(starts)) >= len(words) // 2, "playback did not follow the words"


def _hostile_page(tmp_path, make_analysis) -> Path:
    from sentimentogram_cli import write

    analysis = make_analysis(["Hello", HOSTILE, "<b>bold</b>", "&amp;", "world"],
                             source="<img src=x onerror=alert(2)>.mp4", media_kind="audio")
    page = tmp_path / "hostile.html"
    write(analysis, page)
    return page


def test_hostile_transcript_is_escaped(tmp_path, make_analysis):
    html = _hostile_page(tmp_path, make_analysis).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="chromium is not installed")
def test_hostile_transcript_renders_as_text_in_chromium(tmp_path, make_analysis):
    sync_api = pytest.importorskip("playwright.sync_api")
    page_path = _hostile_page(tmp_path, make_analysis)
    dialogs, errors = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.wait_for_timeout(300)
            text = page.inner_text("body")
        finally:
            browser.close()
    assert dialogs == [], "a transcript or file name ran as script"
    assert errors == [], errors
    assert HOSTILE in text and "<b>bold</b>" in text  # shown to the reader literally
