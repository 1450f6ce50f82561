"""The page in headless Chromium: a real H.264 video beside it, played, sought and restyled.

One browser serves the whole module (the machine is small); each test opens its own page.
"""

import shutil
import subprocess

import pytest

from sentimentogram_cli.output.page import render_page
from sentimentogram_cli.typography import style_word

pytestmark = pytest.mark.browser

VIDEO_NAME = "test clip é.mp4"  # a space and a non-ASCII letter: the link must be URL-quoted
N_WORDS, STEP, FIRST = 20, 0.25, 0.5


@pytest.fixture(scope="module")
def site(tmp_path_factory, make_analysis):
    if shutil.which("ffmpeg") is None:
        pytest.skip("browser test needs ffmpeg to build its H.264 video")
    folder = tmp_path_factory.mktemp("site")
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", str(folder / VIDEO_NAME)],
        check=True, timeout=120)
    analysis = make_analysis([f"word{i}" for i in range(N_WORDS)], start=FIRST, step=STEP,
                                    per_line=5, duration=6.0, source=VIDEO_NAME)
    (folder / "clip.html").write_text(render_page(analysis, media=VIDEO_NAME), encoding="utf-8")
    (folder / "silence.html").write_text(render_page(make_analysis([], duration=6.0), media=VIDEO_NAME),
                                         encoding="utf-8")
    return folder, analysis


def new_context(browser, **options):
    # The page's Content-Security-Policy forbids eval, which Playwright's string predicates use;
    # bypassing it also shows that the page itself never *tries* a request (CSP would hide that).
    return browser.new_context(bypass_csp=True, **options)


@pytest.fixture
def page(browser, site):
    context = new_context(browser, viewport={"width": 1000, "height": 760})
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, errors


def open_clip(page, site, name="clip.html"):
    folder, _ = site
    page.goto((folder / name).as_uri())
    page.wait_for_function("document.getElementById('media').readyState >= 1", timeout=15_000)


def seek(page, t):
    """Seek, wait for the seek to land and two frames to pass, return the active caption word's start."""
    return page.evaluate("""async (t) => {
        const media = document.getElementById('media');
        await new Promise(done => { media.addEventListener('seeked', done, {once: true}); media.currentTime = t; });
        await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
        const active = document.querySelector('#caption .word.active');
        return active ? active.dataset.start : null;
    }""", t)


def test_the_page_requests_only_itself_and_its_video(browser, site):
    folder, _ = site
    context = new_context(browser)
    tab = context.new_page()
    requested = []
    tab.on("request", lambda request: requested.append(request.url))
    open_clip(tab, site)
    tab.evaluate("() => { const m = document.getElementById('media'); m.muted = true; return m.play(); }")
    tab.wait_for_timeout(800)
    context.close()
    page_url = (folder / "clip.html").as_uri()
    video_url = (folder / VIDEO_NAME).as_uri()
    assert video_url.endswith("test%20clip%20%C3%A9.mp4")
    outside = {url for url in requested if not url.startswith("data:")} - {page_url, video_url}
    assert not outside, f"unexpected requests: {sorted(outside)}"
    assert page_url in requested and video_url in requested


def test_playback_activates_each_word_within_a_tenth_of_a_second(page, site):
    _, analysis = site
    open_clip(page, site)
    # Record (media time, active word) at every class change; the observer runs right after the
    # player's animation-frame callback, so the time is the one the player saw.
    page.evaluate("""() => {
        const media = document.getElementById('media');
        window.__events = [];
        new MutationObserver(() => {
            const active = document.querySelector('#caption .word.active');
            window.__events.push([media.currentTime, active ? parseFloat(active.dataset.start) : null]);
        }).observe(document.getElementById('caption'),
                   {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});
        media.muted = true;
        return media.play();
    }""")
    last = analysis.words[-1]
    page.wait_for_function(f"document.getElementById('media').currentTime > {last.start + 0.2}"
                           " || document.getElementById('media').ended", timeout=30_000)
    events = page.evaluate("window.__events")
    for word in analysis.words:
        seen = [t for t, start in events if start is not None and abs(start - word.start) < 1e-6]
        assert seen, f"{word.text!r} at {word.start} s never became active"
        assert -0.02 <= seen[0] - word.start <= 0.1, f"{word.text!r} became active at {seen[0]:.3f} s"


def test_seeking_to_twenty_word_starts_activates_each_word(page, site):
    _, analysis = site
    open_clip(page, site)
    words = analysis.words
    assert len(words) == 20
    for word in reversed(words):  # backwards too: the player must not assume time only grows
        assert seek(page, word.start + 0.02) == f"{word.start:.3f}", word.text
    for word in words:
        assert seek(page, word.start + 0.02) == f"{word.start:.3f}", word.text


def test_switching_culture_restyles_live_without_reload(page, site):
    _, analysis = site
    open_clip(page, site)
    happy = next(w for w in analysis.words if w.emotion.emotion == "happy")
    seek(page, happy.start + 0.02)
    selector = f'#caption .word[data-start="{happy.start:.3f}"]'
    color = f"getComputedStyle(document.querySelector('{selector}')).color"
    before = page.evaluate(color)
    page.evaluate("window.__sameDocument = true")
    page.select_option("#culture", "eastern")
    assert page.evaluate("document.body.dataset.culture") == "eastern"
    assert page.evaluate(color) != before  # western gold -> eastern red
    expected = style_word(happy.emotion, "eastern", "adult").color
    assert page.evaluate(color) == "rgb({}, {}, {})".format(*(int(expected[i:i + 2], 16) for i in (1, 3, 5)))
    assert page.evaluate("window.__sameDocument === true")  # the same document: no reload
    page.select_option("#age", "senior")
    assert page.evaluate("document.body.dataset.age") == "senior"


def test_clicking_a_transcript_word_seeks_to_it(page, site):
    _, analysis = site
    open_clip(page, site)
    word = analysis.words[15]
    page.click(f'#transcript .tword[data-start="{word.start:.3f}"]')
    page.wait_for_function(f"Math.abs(document.getElementById('media').currentTime - {word.start}) < 0.05")
    page.wait_for_function(
        f"document.querySelector('#caption .word.active')?.dataset.start === '{word.start:.3f}'")


def test_keyboard_plays_pauses_and_seeks(page, site):
    open_clip(page, site)
    page.evaluate("document.getElementById('media').muted = true")
    page.locator("h1").click()
    page.keyboard.press("Space")
    page.wait_for_function("!document.getElementById('media').paused")
    page.keyboard.press("Space")
    page.wait_for_function("document.getElementById('media').paused")
    start = page.evaluate("document.getElementById('media').currentTime")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.getElementById('media').currentTime >= {min(start + 4.9, 5.9)}")


def test_timeline_click_seeks_and_moves_the_playhead(page, site):
    open_clip(page, site)
    box = page.locator("#timeline").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.wait_for_function("Math.abs(document.getElementById('media').currentTime - 3.0) < 0.15")
    left = page.evaluate("parseFloat(document.getElementById('playhead').style.left)")
    assert 45 < left < 55


def test_reduced_motion_stops_the_animations(browser, site):
    _, analysis = site
    angry = next(w for w in analysis.words if w.emotion.emotion == "angry")
    for motion, expected in (("no-preference", "sg-shake"), ("reduce", "none")):
        context = new_context(browser, reduced_motion=motion)
        tab = context.new_page()
        open_clip(tab, site)
        seek(tab, angry.start + 0.02)
        name = tab.evaluate("getComputedStyle(document.querySelector('#caption .word.active')).animationName")
        context.close()
        assert name == expected, motion


def test_readable_at_375_px_without_sideways_scrolling(browser, site):
    context = new_context(browser, viewport={"width": 375, "height": 740})
    tab = context.new_page()
    open_clip(tab, site)
    seek(tab, FIRST + 0.02)
    width = tab.evaluate("document.documentElement.scrollWidth")
    caption_size = tab.evaluate("parseFloat(getComputedStyle(document.getElementById('caption')).fontSize)")
    context.close()
    assert width <= 375 and caption_size >= 16


def test_a_page_without_speech_says_so(page, site):
    open_clip(page, site, "silence.html")
    assert page.locator("#caption").inner_text().startswith("No speech was found")
    assert page.locator("#caption").is_visible()


def test_a_page_without_its_media_runs_captions_on_a_silent_clock(browser, site, make_analysis):
    folder, _ = site
    (folder / "nomedia.html").write_text(render_page(make_analysis(["one", "two", "three"], start=0.2)),
                                         encoding="utf-8")
    context = new_context(browser)
    tab = context.new_page()
    tab.goto((folder / "nomedia.html").as_uri())
    tab.locator("h1").click()
    tab.keyboard.press("Space")
    tab.wait_for_function("document.querySelector('#caption .word.active')?.textContent === 'two'",
                          timeout=10_000)
    context.close()


def test_the_page_runs_under_its_own_content_security_policy(browser, site):
    _, analysis = site
    context = browser.new_context()  # no bypass: the page's CSP applies
    tab = context.new_page()
    messages, errors = [], []
    tab.on("console", lambda message: messages.append(message.text))
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto((site[0] / "clip.html").as_uri())
    word = analysis.words[7]
    # Function-form evaluation needs no eval(), which the policy forbids.
    started = tab.evaluate("""async (t) => {
        const media = document.getElementById('media');
        if (media.readyState < 1) await new Promise(done => media.addEventListener('loadedmetadata', done, {once: true}));
        await new Promise(done => { media.addEventListener('seeked', done, {once: true}); media.currentTime = t; });
        await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
        return document.querySelector('#caption .word.active')?.dataset.start;
    }""", word.start + 0.02)
    fonts = tab.evaluate("""async () => (await document.fonts.load('16px "Bebas Neue"'))
                                         .map(face => face.status)""")
    context.close()
    assert started == f"{word.start:.3f}" and fonts == ["loaded"]  # data: fonts pass the policy
    assert not errors and not [m for m in messages if "Content Security Policy" in m], messages
