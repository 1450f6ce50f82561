"""The README's dialogue screenshot (issue 21): a rendered two-speaker page, paused on a word of
the second speaker's first turn, with the speaker legend and the transcript's speaker chips.

    python scripts/dialogue_screenshot.py scene.html --out docs/screenshot-dialogue.png

Render the page first (tests/test_speakers.py's two-person scene, or any dialogue):
``sentimentogram render scene.wav``. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

# The middle word of the first line spoken by the second speaker heard.
_PICK = """() => {
    const analysis = JSON.parse(document.getElementById('analysis').textContent);
    const lines = analysis.lines.filter(l => l.words.length);
    const first = lines.length ? lines[0].speaker : null;
    const line = lines.find(l => l.speaker && l.speaker !== first) || lines[0];
    return line ? line.words[Math.floor(line.words.length / 2)].start + 0.02 : 0;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot-dialogue.png"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 760})
        page.goto(args.page.resolve().as_uri())
        page.wait_for_timeout(500)
        t = page.evaluate(_PICK)
        page.evaluate("t => { const m = document.getElementById('media'); if (m) { m.pause(); m.currentTime = t; } }", t)
        page.wait_for_timeout(800)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=False)
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
