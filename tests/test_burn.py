"""`sentimentogram burn`: a new video with the styled subtitles in its pixels; the original untouched.

Real ffmpeg and libass on short, small clips (ultrafast x264): each aspect's caption is found in
its safe area at the time its words are said, colours are measured on decoded frames, fonts are
refused in one line, audio-only input becomes a playable video, trims and reruns do what they say.
"""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sentimentogram_cli.colour import contrast_ratio, mix, to_hex
from sentimentogram_cli.document import Cue
from sentimentogram_cli.errors import ExitStatus, UsageError
from sentimentogram_cli.output.ass import not_yet_colour
from sentimentogram_cli.output.burn import filter_escape
from sentimentogram_cli.output.layout import SAFE_AREAS, caption_layout, frame_shape, output_frame
from sentimentogram_cli.ranges import TimeRange, parse_time, trim_analysis
from sentimentogram_cli.typography import PRESETS
from conftest import SHARED_DATA, make_video_file  # the data folder and test media, in one place

RAVDESS_CLIP = SHARED_DATA / "emotional_speech/ravdess/Actor_01/03-01-05-01-01-01-01.opus"
WIDTH, HEIGHT = 320, 240
FAST = ["--preset", "ultrafast"]


def make_video(path: Path, seconds: float = 3, audio: str | None = None, size=(WIDTH, HEIGHT),
               colour: str = "0x336699") -> Path:
    return make_video_file(path, seconds, audio=audio, size=size, rate=10, color=colour)


def video_size(video: Path) -> tuple[int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                          "-of", "json", str(video)], capture_output=True, text=True, check=True).stdout
    stream = json.loads(out)["streams"][0]
    return stream["width"], stream["height"]


def frame(video: Path, at: float, rgb: bool = False) -> np.ndarray:
    """One decoded frame: (height, width) grey levels, or (height, width, 3) RGB."""
    width, height = video_size(video)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(video), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24" if rgb else "gray", "-"],
                         capture_output=True, check=True).stdout
    shape = (height, width, 3) if rgb else (height, width)
    return np.frombuffer(raw, np.uint8).reshape(shape).astype(int)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def caption_box(video: Path, at: float, without: float) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels that differ between the frame at ``at`` and the
    caption-free frame at ``without`` (bottom and right exclusive); None when none differ."""
    changed = np.abs(frame(video, at, rgb=True) - frame(video, without, rgb=True)).max(axis=2) > 40
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if not len(rows):
        return None
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def write_document(folder: Path, make_analysis, texts=("Hello", "angry", "world"), **kwargs) -> Path:
    document = folder / "talk.json"
    analysis = make_analysis(list(texts), **{"start": 1.0, "step": 0.4, "emotions": ["angry"], **kwargs})
    document.write_text(analysis.to_json(), encoding="utf-8")
    return document


def test_filter_escape_follows_ffmpegs_own_example():
    """The example of "Notes on filtergraph escaping" in ffmpeg-filters(1), both levels."""
    text = "this is a 'string': may contain one, or more, special characters"
    assert filter_escape(text) == r"this is a \\\'string\\\'\\: may contain one\, or more\, special characters"
    assert filter_escape("/fonts [1];x") == r"/fonts \[1\]\;x"


def test_frames_and_safe_areas():
    assert output_frame((1920, 1080), "9:16", "crop").width == 606  # 1080 * 9/16, made even
    blur = output_frame((1920, 1080), "9:16", "blur")
    assert (blur.width, blur.height) == (1080, 1920) and "boxblur" in blur.filter
    square = output_frame((1920, 1080), "1:1", "crop")
    assert (square.width, square.height, square.filter) == (1080, 1080, "crop=1080:1080")
    assert output_frame((640, 360), "16:9").filter == ""  # already that shape
    assert (output_frame(None, "9:16").width, output_frame(None, "9:16").height) == (720, 1280)  # audio only
    assert frame_shape(1080, 1920) == "vertical" and frame_shape(1080, 1080) == "square"
    layout = caption_layout(1080, 1920)
    assert layout.margin_v == round(1920 * 0.22) and layout.margin_r == round(1080 * 0.15) and layout.alignment == 2
    assert caption_layout(1080, 1920, position="top", margin="5,10").margin_l == 108
    assert caption_layout(1920, 1080, size=10).font_size == 108
    for bad in (dict(position="left"), dict(margin="50"), dict(margin="x"), dict(size=40)):
        with pytest.raises(UsageError):
            caption_layout(1080, 1920, **bad)
    with pytest.raises(UsageError):
        output_frame((640, 360), "4:3")


def test_time_ranges(make_analysis):
    assert parse_time("1:02:03.5") == 3723.5 and parse_time("90") == 90 and parse_time("1:30") == 90
    for bad in ("-1", "a", "1::2"):
        with pytest.raises(UsageError):
            parse_time(bad)
    assert TimeRange.parse("65", "80.5").label == "1m5s-1m20.5s" and TimeRange().label == ""
    with pytest.raises(UsageError):
        TimeRange.parse("10", "5")
    analysis = make_analysis(["a", "b", "c", "d"], start=0.5, step=1.0)
    cut = trim_analysis(analysis, TimeRange(1.2, 3.0))
    assert [w.text.strip() for w in cut.words] == ["b", "c"]  # the words that start inside it
    assert [w.start for w in cut.words] == pytest.approx([0.3, 1.3]) and cut.duration == pytest.approx(1.8)
    assert cut.words[-1].end == pytest.approx(1.8)  # clipped to the range


def test_burn_draws_the_captions_and_leaves_the_original(tmp_path, make_analysis, run_cli):
    # A folder name that needs escaping at both levels of the filter syntax.
    folder = tmp_path / "it's a: test [1], x"
    folder.mkdir()
    video = make_video(folder / "talk.mp4")
    original = digest(video)
    document = folder / "talk.json"
    document.write_text(make_analysis(["Hello", "{braces}", "world"], start=0.2, step=0.5,
                                      emotions=["angry"]).to_json(), encoding="utf-8")
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--culture", "eastern", *FAST])
    assert code == 0, output
    burned = folder / "talk.subtitled.mp4"
    assert burned.is_file() and digest(video) == original
    assert sorted(p.name for p in folder.iterdir()) == ["talk.json", "talk.mp4", "talk.subtitled.mp4"]
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(burned), "-f", "null", "-"], capture_output=True)
    assert decoded.returncode == 0 and not decoded.stderr
    before, after = frame(video, 1.0), frame(burned, 1.0)
    caption, sky = slice(HEIGHT * 2 // 3, HEIGHT), slice(0, HEIGHT // 3)
    assert np.abs(after[caption] - before[caption]).mean() > 5  # the caption is in the pixels
    assert np.abs(after[sky] - before[sky]).mean() < 2  # and nothing else changed
    # After the last word, no caption: the frame matches the original again.
    assert np.abs(frame(burned, 2.8)[caption] - frame(video, 2.8)[caption]).mean() < 2


@pytest.mark.parametrize("aspect, fill, size", [("16:9", "blur", (384, 216)), ("9:16", "blur", (216, 384)),
                                                ("9:16", "crop", (120, 216)), ("1:1", "crop", (216, 216))])
def test_each_aspect_puts_the_caption_in_its_safe_area_when_the_words_are_said(tmp_path, make_analysis, run_cli,
                                                                              aspect, fill, size):
    video = make_video(tmp_path / "talk.mp4", size=(384, 216))
    document = write_document(tmp_path, make_analysis)  # words from 1.0 s to 2.16 s
    out = tmp_path / "out.mp4"
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--aspect", aspect, "--fill", fill,
                            "--out", str(out), *FAST])
    assert code == 0, output
    assert video_size(out) == size
    assert caption_box(out, 0.2, without=0.0) is None  # before the cue (it leads by 0.5 s at most)
    box = caption_box(out, 1.5, without=0.0)
    assert box is not None, "no caption while the words are said"
    top, bottom, left, right = box
    width, height = size
    safe = SAFE_AREAS[frame_shape(width, height)]
    assert bottom <= height * (1 - safe.bottom) + 1, (box, safe)
    assert top >= height * safe.top - 1 and left >= width * safe.left - 1 and right <= width * (1 - safe.right) + 1
    if aspect == "9:16":  # clear of the bottom 20% and the right-hand buttons
        assert bottom <= height * 0.8 and right <= width * 0.86


def line_contrast(picture: np.ndarray, background: str) -> float:
    """Text against box of the one caption line in ``picture`` (H, W, 3): the box is the pixels
    near the preset's box colour, the text the 5% of the other pixels inside the box's bounds
    (2 px in from its edges) farthest from the box colour: stroke cores, not their edges.
    (benchmarks/burn.py measures every colour this way.)"""
    near = np.abs(picture - np.array([int(background[i:i + 2], 16) for i in (1, 3, 5)])).sum(axis=2) < 40
    rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
    inside = np.zeros_like(near)
    inside[rows[0] + 2:rows[-1] - 1, cols[0] + 2:cols[-1] - 1] = True
    box = np.median(picture[near & inside], axis=0)
    candidates = picture[inside & ~near]
    distance = np.abs(candidates - box).sum(axis=1)
    text = np.median(candidates[distance >= np.quantile(distance, 0.95)], axis=0)
    return contrast_ratio(to_hex(tuple(text / 255)), to_hex(tuple(box / 255)))


@pytest.mark.parametrize("culture", ["western", "eastern", "accessible"])
def test_spoken_and_not_yet_spoken_words_keep_their_contrast_on_decoded_frames(tmp_path, make_analysis, run_cli,
                                                                              culture):
    video = make_video(tmp_path / "talk.mp4", size=(480, 270), colour="0x808080")
    analysis = make_analysis(["SAID", "LATER"], start=0.5, step=1.2, emotions=["angry"], confidence=1.0)
    # One word a cue: SAID is shown after it was said (spoken, no longer active), LATER in its
    # lead-in (not yet spoken).
    analysis.cues = [Cue(0.5, 1.6, [[0, 1]]), Cue(1.65, 2.9, [[1, 2]])]
    document = tmp_path / "talk.json"
    document.write_text(analysis.to_json(), encoding="utf-8")
    out = tmp_path / "out.mp4"
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--culture", culture,
                            "--size", "14", "--out", str(out), *FAST])
    assert code == 0, output
    preset = PRESETS[culture]["angry"]
    target = 7.0 if culture == "accessible" else 4.5
    ratios = {state: line_contrast(frame(out, at, rgb=True), preset.background)
              for state, at in (("spoken", 1.4), ("not yet", 1.8))}
    assert ratios["spoken"] >= target and ratios["not yet"] >= target, ratios
    # The old dimming (55% toward the box) would have failed: 1.9-3.5:1 in issue 22.
    assert contrast_ratio(mix(preset.color, preset.background, 0.55), preset.background) < target
    assert contrast_ratio(not_yet_colour(preset.color, preset.background, target), preset.background) >= target


def test_fonts_missing_ones_are_refused_in_one_line(tmp_path, make_analysis, run_cli):
    video = make_video(tmp_path / "talk.mp4", seconds=2)
    document = write_document(tmp_path, make_analysis, texts=("Hi",))
    for font in ("No Such Font Family", str(tmp_path / "missing.ttf")):
        code, output = run_cli(["burn", str(video), "--analysis", str(document), "--font", font, *FAST])
        assert code == ExitStatus.USAGE and output.startswith("error:") and "Traceback" not in output, output
        assert len(output.strip().splitlines()) == 1, output
    # A style file naming a family nobody has: libass would substitute it, so the burn refuses.
    style = tmp_path / "style.toml"
    style.write_text('[angry]\nfont_family = "Nonexistent Sans"\n', encoding="utf-8")
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--style-file", str(style), *FAST])
    assert code == ExitStatus.USAGE and "Nonexistent Sans" in output and len(output.strip().splitlines()) == 1, output
    assert not list(tmp_path.glob("*.subtitled.*"))
    # A shipped family by name, and a font file (the page embeds it; libass gets it by folder).
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--font", "Oswald", *FAST])
    assert code == 0, output
    system = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    if system.is_file() and shutil.which("fc-scan"):
        code, output = run_cli(["burn", str(video), "--analysis", str(document), "--font", str(system),
                                "--out", str(tmp_path / "serif.mp4"), *FAST])
        assert code == 0, output
        code, output = run_cli(["restyle", str(document), "--font", str(system)])
        assert code == 0, output
        assert 'font-family:"DejaVu Serif"' in (tmp_path / "talk.html").read_text(encoding="utf-8")


def test_audio_only_input_becomes_a_playable_video_with_the_captions(tmp_path, make_analysis, run_cli):
    audio = tmp_path / "talk.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=220:d=3", "-c:a", "aac", str(audio)],
                   check=True)
    document = write_document(tmp_path, make_analysis)
    code, output = run_cli(["burn", str(audio), "--analysis", str(document), "--aspect", "9:16", *FAST])
    assert code == 0, output
    video = tmp_path / "talk.subtitled.mp4"
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
                                       str(video)], capture_output=True, text=True, check=True).stdout)
    kinds = {s["codec_type"]: s for s in probe["streams"]}
    assert set(kinds) == {"video", "audio"} and kinds["video"]["codec_name"] == "h264"
    assert (kinds["video"]["width"], kinds["video"]["height"]) == (720, 1280)
    assert float(probe["format"]["duration"]) == pytest.approx(3.0, abs=0.2)
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-f", "null", "-"], capture_output=True)
    assert decoded.returncode == 0 and not decoded.stderr
    # The waveform band is in the middle third; the caption below it, above the bottom 20%.
    picture = frame(video, 1.5)
    assert picture[1280 // 3: 2 * 1280 // 3].std() > 3
    below = slice(2 * 1280 // 3 + 2, 1280)
    changed = np.flatnonzero((np.abs(picture[below] - frame(video, 0.1)[below]) > 40).any(axis=1))
    assert len(changed) and changed[-1] + below.start <= 1280 * 0.8, changed
    # Or a still image, framed like a video of its size.
    cover = tmp_path / "cover.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=400x300:d=1", "-frames:v", "1",
                    str(cover)], check=True)
    code, output = run_cli(["burn", str(audio), "--analysis", str(document), "--backdrop", str(cover),
                            "--aspect", "1:1", "--fill", "crop", "--out", str(tmp_path / "still.mp4"), *FAST])
    assert code == 0, output
    assert video_size(tmp_path / "still.mp4") == (300, 300)
    assert caption_box(tmp_path / "still.mp4", 1.5, without=0.1) is not None
    code, output = run_cli(["burn", str(audio), "--analysis", str(document), "--backdrop", str(document), *FAST])
    assert code == ExitStatus.INPUT_NOT_FOUND and "not an image" in output, output


def test_trim_names_the_range_and_moves_the_captions(tmp_path, make_analysis, run_cli):
    video = make_video(tmp_path / "talk.mp4", seconds=4)
    document = write_document(tmp_path, make_analysis, texts=("one", "two", "three"), start=2.0, step=0.5)
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--start", "1.5", "--end", "3.5", *FAST])
    assert code == 0, output
    clip = tmp_path / "talk.1.5s-3.5s.subtitled.mp4"
    assert clip.is_file(), sorted(p.name for p in tmp_path.iterdir())
    seconds = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                    str(clip)], capture_output=True, text=True, check=True).stdout)
    assert seconds == pytest.approx(2.0, abs=0.15)
    assert caption_box(clip, 1.0, without=0.0) is not None  # "two" (2.5 s in the source) at 1.0 s


def test_burn_is_skipped_when_up_to_date_and_redone_with_force(tmp_path, make_analysis, run_cli):
    video = make_video(tmp_path / "talk.mp4", seconds=2)
    document = write_document(tmp_path, make_analysis, texts=("Hi",))
    args = ["burn", str(video), "--analysis", str(document), *FAST]
    code, output = run_cli(args)
    assert code == 0 and "wrote" in output, output
    burned = tmp_path / "talk.subtitled.mp4"
    stamp = burned.stat().st_mtime_ns
    code, output = run_cli(args)
    assert code == 0 and "kept" in output and burned.stat().st_mtime_ns == stamp, output
    code, output = run_cli([*args, "--aspect", "1:1"])  # another input to the video: encoded again
    assert code == 0 and "wrote" in output and video_size(burned) == (320, 320), output  # blur-padded
    code, output = run_cli([*args, "--aspect", "1:1", "--force"])
    assert code == 0 and "wrote" in output, output
    code, output = run_cli([*args, "--aspect", "1:1", "--no-cache"])  # no records: always encoded
    assert code == 0 and "wrote" in output, output


def test_burn_out_option_and_refusals(tmp_path, make_analysis, run_cli):
    video = make_video(tmp_path / "talk.mp4", seconds=1)
    document = tmp_path / "talk.json"
    document.write_text(make_analysis(["Hi"], start=0.1).to_json(), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--out", str(out / "x.mkv"), *FAST])
    assert code == 0, output
    assert (out / "x.mkv").is_file() and list(out.iterdir()) == [out / "x.mkv"]  # nothing else left there
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--out", str(out / "x.webm"), *FAST])
    assert code == 0, output  # the container from the name: WebM takes VP9 and Opus
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                              str(out / "x.webm")], capture_output=True, text=True, check=True).stdout.split()
    assert streams == ["vp9", "opus"], streams
    code, output = run_cli(["burn", str(video), "--analysis", str(document), "--out", str(video)])
    assert code == ExitStatus.OUTPUT_NOT_WRITABLE and output.startswith("error:"), output
    code, output = run_cli(["burn", str(video), "--analysis", str(tmp_path / "none.json")])
    assert code == ExitStatus.INPUT_NOT_FOUND and "Traceback" not in output, output
    for bad in (["--aspect", "4:3"], ["--fill", "zoom"], ["--margin", "60"], ["--start", "5"], ["--preset", "x"]):
        code, output = run_cli(["burn", str(video), "--analysis", str(document), *bad])
        assert code == ExitStatus.USAGE and len(output.strip().splitlines()) == 1, (bad, output)


@pytest.mark.slow
@pytest.mark.skipif(not RAVDESS_CLIP.is_file(), reason="RAVDESS clip not found in ../shared/data")
def test_burn_analyses_once_then_uses_the_cache(tmp_path, run_cli, small_head):
    head = tmp_path / "head.safetensors"
    small_head(head)
    video = make_video(tmp_path / "speech.mp4", seconds=4, audio=str(RAVDESS_CLIP))
    args = ["burn", str(video), "--asr-model", "tiny.en", "--head", str(head), "--cache-dir", str(tmp_path / "c"), *FAST]
    code, output = run_cli(args)
    assert code == 0 and "analysis from models" in output, output
    code, output = run_cli([*args, "--out", str(tmp_path / "again.mp4"), "--culture", "accessible"])
    assert code == 0 and "analysis from cache" in output, output
    assert np.abs(frame(tmp_path / "again.mp4", 1.5) - frame(video, 1.5)).mean() > 0.5
    # A range of it: the cached analysis of the whole recording is cut, no model runs.
    code, output = run_cli([*args, "--start", "1", "--end", "3", "--aspect", "9:16"])
    assert code == 0 and "analysis from cache" in output, output
    assert (tmp_path / "speech.1s-3s.subtitled.mp4").is_file()
    shutil.rmtree(tmp_path / "c")


def test_render_trim_names_the_range_and_reuses_the_cached_whole_analysis(tmp_path, make_analysis):
    from sentimentogram_cli.analyser import AnalysisOptions, Analyser
    from sentimentogram_cli.analysis_cache import AnalysisCache
    from sentimentogram_cli.document import Analysis
    from sentimentogram_cli.jobs import OutputOptions, render

    video = make_video(tmp_path / "talk.mp4", seconds=4)
    analyser, options, cache = Analyser("cpu"), AnalysisOptions(), AnalysisCache(tmp_path / "cache")
    whole = make_analysis(["one", "two", "three", "four"], start=0.5, step=0.8, source="talk.mp4")
    cache.store(analyser.cache_key(video, options, cache), whole)  # as an earlier render left it
    result = render(video, analyser=analyser, options=options, cache=cache, span=TimeRange.parse("1.2", "2.9"),
                    output=OutputOptions(formats="html,json,vtt"))
    assert result.status == "restyled"  # the cached analysis of the whole file: no model ran
    assert sorted(p.name for p in result.outputs) == ["talk.1.2s-2.9s.html", "talk.1.2s-2.9s.json",
                                                      "talk.1.2s-2.9s.vtt"]
    cut = Analysis.load(tmp_path / "talk.1.2s-2.9s.json")
    # The words said in the range, on the recording's own clock (the page plays the whole file).
    assert [w.text.strip() for w in cut.words] == ["two", "three"]
    assert cut.words[0].start == pytest.approx(1.3)
    # The page plays the range of the file (a media fragment), not the file from its start.
    assert 'src="talk.mp4#t=1.2,2.9"' in (tmp_path / "talk.1.2s-2.9s.html").read_text(encoding="utf-8")


def test_the_page_of_a_range_starts_its_media_at_the_range(tmp_path, make_analysis, browser):
    """In Chromium: the page of ``render --start 1.2 --end 2.9`` plays the file from 1.2 s."""
    from sentimentogram_cli.analyser import AnalysisOptions, Analyser
    from sentimentogram_cli.analysis_cache import AnalysisCache
    from sentimentogram_cli.jobs import render

    video = make_video(tmp_path / "talk.mp4", seconds=4)
    analyser, options, cache = Analyser("cpu"), AnalysisOptions(), AnalysisCache(tmp_path / "cache")
    cache.store(analyser.cache_key(video, options, cache),
                make_analysis(["one", "two", "three", "four"], start=0.5, step=0.8, source="talk.mp4"))
    render(video, analyser=analyser, options=options, cache=cache, span=TimeRange(1.2, 2.9))
    tab = browser.new_page()
    try:
        tab.goto((tmp_path / "talk.1.2s-2.9s.html").as_uri())
        tab.wait_for_function("document.getElementById('media').readyState >= 1", timeout=15000)
        assert tab.evaluate("document.getElementById('media').currentTime") == pytest.approx(1.2, abs=0.15)
    finally:
        tab.close()
