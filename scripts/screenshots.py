"""Screenshots of a rendered page in the western and eastern cultures, for the README.

    python scripts/screenshots.py examples/talk.html --out docs [--time 12.3] [--width 1280]
    python scripts/screenshots.py jfk.html --emphasis --out docs

Writes docs/screenshot-western.png and docs/screenshot-eastern.png. Without --time it shows the
caption line with the most different emotions, paused on its middle word. With --emphasis it
writes docs/screenshot-emphasis.png instead: the accessible preset on the line with the most
emphasised words, paused on its last word. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["take_screenshots"]

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update"]

# The middle word of the line whose words carry the most distinct emotions.
_PICK_TIME = """() => {
    const analysis = JSON.parse(document.getElementById('analysis').textContent);
    let best = null, bestCount = -1;
    for (const line of analysis.lines) {
        const count = new Set(line.words.map(w => w.emotion.emotion)).size;
        if (line.words.length && count > bestCount) { best = line; bestCount = count; }
    }
    return best ? best.words[Math.floor(best.words.length / 2)].start + 0.02 : 0;
}"""

# The last word of the line with the most emphasised words (issue 20).
_PICK_EMPHASIS = """() => {
    const analysis = JSON.parse(document.getElementById('analysis').textContent);
    let best = null, bestCount = 0;
    for (const line of analysis.lines) {
        const count = line.words.filter(w => w.emphasised).length;
        if (count > bestCount) { best = line; bestCount = count; }
    }
    return best ? best.words[best.words.length - 1].start + 0.02 : 0;
}"""

_SEEK = """async (t) => {
    const media = document.getElementById('media');
    if (!media) return;
    if (media.readyState < 1) await new Promise(done => media.addEventListener('loadedmetadata', done, {once: true}));
    await new Promise(done => { media.addEventListener('seeked', done, {once: true}); media.currentTime = t; });
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""


def take_screenshots(page_path: Path, out_dir: Path, time: float | None = None, width: int = 1280,
                     height: int = 800, cultures: tuple[str, ...] = ("western", "eastern"),
                     emphasis: bool = False) -> list[Path]:
    """Screenshots of ``page_path`` in each of ``cultures`` (``screenshot-CULTURE.png``), or with
    ``emphasis`` one of the accessible preset on its most emphasised line (``screenshot-emphasis.png``)."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        # Still frames: no half-played animation in the picture.
        context = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="reduce",
                                      device_scale_factor=1)
        page = context.new_page()
        page.goto(page_path.resolve().as_uri())
        pick = _PICK_EMPHASIS if emphasis else _PICK_TIME
        page.evaluate(_SEEK, page.evaluate(pick) if time is None else time)
        for culture in ("accessible",) if emphasis else cultures:
            page.select_option("#culture", culture)
            page.wait_for_timeout(200)  # one layout pass for the new fonts
            target = out_dir / ("screenshot-emphasis.png" if emphasis else f"screenshot-{culture}.png")
            page.screenshot(path=str(target))
            written.append(target)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="a page written by `sentimentogram render`")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--time", type=float, default=None, help="media time to show, in seconds")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--emphasis", action="store_true",
                        help="one screenshot of emphasis (accessible preset) instead of the cultures")
    args = parser.parse_args(argv)
    if not args.page.is_file():
        print(f"error: {args.page} does not exist", file=sys.stderr)
        return 3
    if not Path(CHROMIUM).exists():
        print(f"error: screenshots need Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 1
    for path in take_screenshots(args.page, args.out, args.time, args.width, args.height, emphasis=args.emphasis):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
