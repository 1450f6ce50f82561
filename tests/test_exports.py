"""VTT, SRT and ASS exports (structure, escaping of hostile transcripts, ffmpeg reading them),
output paths, and the writers behind ``get_writer``/``write``."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sentimentogram_cli.captions import cues_for
from sentimentogram_cli.constants import EMOTIONS, FORMATS
from sentimentogram_cli.errors import UsageError
from sentimentogram_cli.output.ass import ASS_FONT_NAMES, to_ass
from sentimentogram_cli.output.paths import output_paths, parse_formats
from sentimentogram_cli.output.subtitles import clock, to_srt, to_vtt
from sentimentogram_cli.output.writers import WRITERS, get_writer, write, write_all
from sentimentogram_cli.style import Style

HOSTILE = ["Hello", "{\\b1}bold}", "a --> b", "<b>x</b>", "&amp;", "back\\Nslash", "it's", "多语言",
           "</c>", "end"]


@pytest.fixture
def hostile(make_analysis):
    return make_analysis(HOSTILE, per_line=5, step=0.4, source="talk {x}.mp4")


def ffmpeg_as_srt(path: Path) -> str:
    """What ffmpeg reads from a subtitle file, converted to SRT (fails the test if it cannot)."""
    done = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "srt", "-"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_parse_formats():
    assert parse_formats("vtt, HTML,ass") == ("html", "vtt", "ass")
    with pytest.raises(UsageError, match="mp3"):
        parse_formats("html,mp3")
    with pytest.raises(UsageError):
        parse_formats(" , ")


def test_output_paths_replace_known_suffixes_only(tmp_path):
    formats = ("html", "vtt")
    assert output_paths(tmp_path / "talk.mp4", None, formats) == {
        "html": tmp_path / "talk.html", "vtt": tmp_path / "talk.vtt"}
    assert output_paths(tmp_path / "talk.mp4", tmp_path / "page.html", formats)["vtt"] == tmp_path / "page.vtt"
    assert output_paths(tmp_path / "talk.mp4", tmp_path / "talk.v2", formats)["html"] == tmp_path / "talk.v2.html"
    assert output_paths(tmp_path / "in" / "talk.mp4", tmp_path, formats)["html"] == tmp_path / "talk.html"


def test_vtt_has_a_style_block_and_a_class_per_emotion(hostile):
    text = to_vtt(hostile, Style("eastern"))
    assert "\r" not in text  # LF line ends only
    lines = text.split("\n")
    assert lines[0] == "WEBVTT" and lines[1] == "" and lines[2] == "STYLE"
    style_block = lines[2:lines.index("", 2)]
    for emotion in EMOTIONS:
        assert any(line.startswith(f"::cue(.{emotion})") for line in style_block)
    assert "-->" not in "\n".join(style_block)  # a STYLE block must not contain the arrow
    # One block per cue of the captions (number, timing, one or two text lines).
    blocks = [b.strip("\n").split("\n") for b in text.split("\n\n")
              if re.match(r"\d+\n\d\d:\d\d:\d\d\.\d{3} --> ", b)]
    assert len(blocks) == len(cues_for(hostile)) and all(1 <= len(b[2:]) <= 2 for b in blocks)
    body = "\n".join(row for b in blocks for row in b[2:])
    assert body.count("<c.") == len(HOSTILE)  # every word, once
    assert "<c.happy>{\\\u2060b1}bold}</c>" in body
    assert "a --&gt; b" in body and "&lt;b&gt;x&lt;/b&gt;" in body and "&amp;amp;" in body
    assert "&lt;/c&gt;" in body
    # The only markup left is ours: <c.x>, </c> and timestamps.
    assert not re.findall(r"<(?!c\.[a-z]+>|/c>|\d\d:\d\d:\d\d\.\d{3}>)", body)
    # Inline timestamps lie inside their cue and increase.
    for block in blocks:
        start, end = block[1].split(" --> ")
        stamps = re.findall(r"<(\d\d:\d\d:\d\d\.\d{3})>", "\n".join(block[2:]))
        assert stamps == sorted(stamps) and all(start < s < end for s in stamps)


def test_srt_is_plain_text_that_cannot_fake_markup_or_timing(hostile):
    text = to_srt(hostile)
    blocks = text.strip().split("\n\n")
    cues = cues_for(hostile)  # the captions' cues: one block each, one or two text lines
    assert [b.splitlines()[0] for b in blocks] == [str(n) for n in range(1, len(cues) + 1)]
    for block, cue in zip(blocks, cues):
        start, end = block.splitlines()[1].split(" --> ")
        assert (start, end) == (clock(cue.start, ","), clock(cue.end, ","))
        assert len(block.splitlines()) - 2 == len(cue.lines) <= 2
    body = "\n".join(row for b in blocks for row in b.splitlines()[2:])
    assert "-->" not in body and "a -> b" in body
    assert "<b>" not in body and "{" not in body and "\uff5b" in body


def test_ass_has_a_style_per_emotion_and_karaoke_per_word(hostile):
    text = to_ass(hostile, Style("western"), size=(640, 360))
    styles = [ln.split(":", 1)[1].split(",")[0].strip() for ln in text.splitlines() if ln.startswith("Style:")]
    assert set(EMOTIONS) <= set(styles)
    assert "PlayResX: 640" in text and "PlayResY: 360" in text
    events = [ln for ln in text.splitlines() if ln.startswith("Dialogue:")]
    cues = cues_for(hostile)  # one event per cue of the captions' segmentation
    assert len(events) == len(cues)
    first = events[0].split(",,0,0,0,,", 1)[1]
    assert first.count("\\kf") == len(cues[0].word_indices())
    assert first.count("\\N") == len(cues[0].lines) - 1  # the cue's text lines
    # Karaoke durations add up to the time from the event's start to the last word's end.
    start_cs = round(cues[0].start * 100)
    durations = sum(int(k) for k in re.findall(r"\\k[f]?(\d+)", first))
    assert start_cs + durations == round(hostile.words[cues[0].word_indices()[-1]].end * 100)
    # Braces are escaped (libass reads \{ as a brace) and a backslash cannot start a tag.
    assert "\\{\\\u2060b1\\}bold\\}" in first
    assert "back\\\u2060Nslash" in text
    # Outside the override blocks no unescaped brace remains.
    assert not re.search(r"(?<!\\)[{}]", re.sub(r"\{\\r[^{}]*\}|\{\\k\d+\}", "", first))


def _ffmpeg_major() -> int:
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    found = re.search(r"ffmpeg version n?(\d+)\.", version)
    return int(found.group(1)) if found else 99


@pytest.mark.parametrize("fmt", ["vtt", "srt", "ass"])
def test_ffmpeg_reads_every_export(fmt, hostile, tmp_path):
    path = tmp_path / f"out.{fmt}"
    maker = {"vtt": to_vtt, "srt": lambda a: to_srt(a), "ass": to_ass}[fmt]
    text = maker(hostile)
    if fmt == "vtt" and _ffmpeg_major() < 6:  # ffmpeg < 6.0 stops at a STYLE block: check the cues
        text = re.sub(r"\nSTYLE\n.*?\n\n", "\n", text, count=1, flags=re.S)
    path.write_bytes(text.encode("utf-8"))
    done = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0", "-c:s", "ass",
                           "-f", "null", "-"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    read = ffmpeg_as_srt(path)
    cues = len(cues_for(hostile))  # the captions' cues, the same in every format
    assert len(re.findall(r"^\d+\n\d\d:\d\d:\d\d,\d{3} --> ", read, flags=re.M)) == cues  # every cue
    for word in ("Hello", "bold", "多语言", "end"):
        assert word in read
    first = cues_for(hostile)[0]
    assert f"{clock(first.start, ',')} --> {clock(first.end, ',')}" in read


def test_ass_font_names_are_what_libass_finds_in_the_bundled_fonts():
    from sentimentogram_cli.assets import resource_dir
    from sentimentogram_cli.typography import FONT_FACES

    if not shutil.which("fc-scan"):
        pytest.skip("fc-scan (fontconfig) is not installed")
    fonts = resource_dir("fonts")
    families = set()
    for face in {f.file for f in FONT_FACES}:
        out = subprocess.run(["fc-scan", "--format", "%{family}\n", str(fonts / face)],
                             capture_output=True, text=True, check=True).stdout
        families |= {name.strip() for line in out.splitlines() for name in line.split(",")}
    for face in FONT_FACES:
        assert ASS_FONT_NAMES.get(face.family, face.family) in families, face


def test_one_writer_per_format(make_analysis, tmp_path):
    analysis = make_analysis(["one", "two"])
    assert tuple(WRITERS) == FORMATS
    for fmt in FORMATS:
        writer = get_writer(fmt, Style("accessible"))
        assert writer.extension == fmt and writer.style.culture == "accessible"
        assert write(analysis, tmp_path / f"x.{fmt.upper()}") == tmp_path / f"x.{fmt.upper()}"
    assert (tmp_path / "x.SRT").read_text(encoding="utf-8") == to_srt(analysis)
    assert (tmp_path / "x.JSON").read_text(encoding="utf-8") == analysis.to_json()
    with pytest.raises(UsageError, match="pdf"):
        write(analysis, tmp_path / "x.pdf")
    with pytest.raises(UsageError):
        get_writer("gif")


def test_write_all_writes_the_page_last_and_leaves_no_temporaries(make_analysis, tmp_path):
    analysis = make_analysis(["one", "two", "three"])
    paths = output_paths(tmp_path / "talk.mp4", None, FORMATS)
    (tmp_path / ".talk.html.abc123.part").write_text("left by a killed run")
    written = write_all(analysis, paths)
    assert written == list(paths.values()) and all(p.is_file() for p in written)
    mtimes = {fmt: p.stat().st_mtime_ns for fmt, p in paths.items()}
    assert mtimes["html"] >= max(mtimes.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)


def test_a_failed_write_removes_what_it_wrote(make_analysis, tmp_path, monkeypatch):
    import sentimentogram_cli.output.writers as writers

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(writers, "render_page", broken)
    paths = output_paths(tmp_path / "talk.mp4", None, ("html", "json", "vtt"))
    with pytest.raises(RuntimeError):
        write_all(make_analysis(["a"]), paths)
    assert list(tmp_path.iterdir()) == []


def test_render_writes_the_asked_formats_from_a_cached_analysis(tmp_path, make_analysis, run_cli, monkeypatch):
    """--format and --json, end to end through the CLI, with the analysis already cached."""
    from sentimentogram_cli.analyser import Analyser, AnalysisOptions
    from sentimentogram_cli.analysis_cache import AnalysisCache

    video = tmp_path / "talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=64x48:r=5:d=3",
                    "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=3", "-c:v", "libx264", "-preset",
                    "ultrafast", "-c:a", "aac", "-shortest", str(video)], check=True)
    head = tmp_path / "head.safetensors"
    head.write_bytes(b"only its hash matters: a cached analysis never loads the head")
    cache = AnalysisCache(tmp_path / "cache")
    key = Analyser(head=head).cache_key(video, AnalysisOptions(), cache)
    cache.store(key, make_analysis(["Hello", "<b>there</b>"], source="x.mp4"))
    monkeypatch.setattr(Analyser, "head", property(lambda self: pytest.fail("a model was loaded")))

    code, output = run_cli(["render", str(video), "--head", str(head), "--cache-dir", str(cache.root),
                            "--format", "vtt,srt,ass", "--json"])
    assert code == 0, output
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert names == ["head.safetensors", "talk.ass", "talk.json", "talk.mp4", "talk.srt", "talk.vtt"]
    assert "PlayResX: 64" in (tmp_path / "talk.ass").read_text(encoding="utf-8")
    code, output = run_cli(["render", str(video), "--format", "html,gif"])
    assert code == 2 and "gif" in output and "Traceback" not in output


@pytest.mark.browser
def test_chromium_reads_the_vtt_cues(hostile, tmp_path, chromium_executable):
    from playwright.sync_api import sync_playwright

    (tmp_path / "out.vtt").write_bytes(to_vtt(hostile).encode("utf-8"))
    (tmp_path / "page.html").write_text(
        '<video id="v" muted></video><script>const v = document.getElementById("v");'
        'const t = document.createElement("track"); t.src = "out.vtt"; t.default = true;'
        'v.appendChild(t); t.track.mode = "hidden";</script>', encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable,
                                    args=["--allow-file-access-from-files"])
        page = browser.new_page()
        page.goto((tmp_path / "page.html").as_uri())
        page.wait_for_function("document.querySelector('track').readyState === 2", timeout=10_000)
        cues = page.evaluate("Array.from(document.querySelector('track').track.cues).map(c => c.text)")
        browser.close()
    assert len(cues) == len(cues_for(hostile))
    assert "<c.happy>{\\\u2060b1}bold}</c>" in cues[0] and "&lt;b&gt;" in cues[0]
