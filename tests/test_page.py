"""The page as HTML text: escaping, self-containment, media links, size, every style precomputed."""

import json
import random
import re
from html.parser import HTMLParser

import pytest

from sentimentogram_cli.document import AnalysedWord, Analysis, Line, WordEmotion
from sentimentogram_cli.constants import AGE_GROUPS, CULTURES, EMOTIONS
from sentimentogram_cli.output.page import json_for_script, render_page
from sentimentogram_cli.output.writers import write
from sentimentogram_cli.style import Style
from sentimentogram_cli.typography import FONT_FACES, style_word

ATTACK = "</script><script>alert(1)</script>"


class _Elements(HTMLParser):
    """What a browser's tokenizer sees: each start tag, and the text inside each <script>."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self.scripts[-1][1] += data


def parse(html):
    parser = _Elements()
    parser.feed(html)
    return parser


def script_json(html, element_id):
    for attrs, text in parse(html).scripts:
        if attrs.get("id") == element_id:
            return json.loads(text)
    raise AssertionError(f"no <script id={element_id}>")


def test_a_transcript_word_cannot_inject_a_script(make_analysis):
    analysis = make_analysis(["Hello", ATTACK, "world"], source=f"{ATTACK}.mp4")
    html = render_page(analysis, media=f"{ATTACK}.mp4")
    scripts = parse(html).scripts
    # Exactly the page's own three scripts, and only one of them executable.
    assert [attrs.get("type") for attrs, _ in scripts] == ["application/json", "application/json", None]
    assert "alert(1)" not in scripts[2][1]
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # transcript and title, as text
    # The JSON carries the exact string back, with no raw < > & that could end the element.
    data = script_json(html, "analysis")
    assert data["lines"][0]["words"][1]["text"].strip() == ATTACK
    assert data["source"] == f"{ATTACK}.mp4"
    for _attrs, text in scripts[:2]:
        assert not set("<>&") & set(text)


def test_json_for_script_escapes_and_round_trips():
    value = {"a": "</script> & <!-- x -->", "b": "Zürich 東京"}
    text = str(json_for_script(value))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == value


def test_media_href_is_url_quoted_for_spaces_and_non_ascii(make_analysis):
    html = render_page(make_analysis(["hi"]), media="talks/my clip é.mp4")
    video = [attrs for tag, attrs in parse(html).tags if tag == "video"]
    assert video and video[0]["src"] == "talks/my%20clip%20%C3%A9.mp4"


def test_embedded_media_is_a_data_uri(make_analysis, tmp_path):
    media = tmp_path / "clip.mp4"
    media.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    html = render_page(make_analysis(["hi"]), media=media, embed=True)
    src = [attrs for tag, attrs in parse(html).tags if tag == "video"][0]["src"]
    assert src.startswith("data:video/mp4;base64,AAAAGGZ0eXBtcDQy")


def test_audio_gets_an_audio_element_over_a_drawn_envelope(make_analysis):
    html = render_page(make_analysis(["hi", "there"], media_kind="audio", source="talk.mp3"),
                       media="talk.mp3")
    tags = parse(html).tags
    assert any(tag == "audio" and attrs.get("id") == "media" for tag, attrs in tags)
    assert any(tag == "canvas" and attrs.get("id") == "envelope" for tag, attrs in tags)
    assert not any(tag == "video" for tag, _ in tags)


def test_no_words_says_no_speech_was_found(make_analysis):
    html = render_page(make_analysis([]), media="silence.mp4")
    assert "No speech was found" in html
    assert script_json(html, "page-data")["lines"] == []


def test_the_page_asks_for_nothing_outside_itself(make_analysis):
    html = render_page(make_analysis(["hello", "world"]), media="clip.mp4")
    for tag, attrs in parse(html).tags:
        for name in ("src", "href", "poster", "data"):
            value = attrs.get(name) or ""
            assert not re.match(r"^\s*(https?:|//|ftp:)", value, re.I), (tag, name, value)
    assert not re.search(r"url\((?!data:)", html)  # every CSS url() is a data: URI (the fonts)
    assert not re.search(r"@import|<link\b", html)
    assert re.search(r'http-equiv="Content-Security-Policy" content="default-src \'none\'', html)


def test_fonts_are_inlined_as_woff2(make_analysis):
    html = render_page(make_analysis(["hello"]), media="clip.mp4")
    faces = re.findall(r'@font-face\{font-family:"([^"]+)"[^}]*src:url\(data:font/woff2;base64,', html)
    assert len(faces) == len(FONT_FACES)
    assert set(faces) == {face.family for face in FONT_FACES}


def test_styles_for_every_culture_and_age_are_precomputed_exactly(make_analysis):
    analysis = make_analysis([f"w{i}" for i in range(14)], confidence=0.7)
    data = script_json(render_page(analysis, media="clip.mp4"), "page-data")
    assert set(data["combos"]) == {f"{c}/{a}" for c in CULTURES for a in AGE_GROUPS}
    # Decode the page's columns as player.js does and compare with the Python mapping.
    for key, column_of in data["combos"].items():
        culture, age = key.split("/")
        for i, word in enumerate(analysis.words):
            expected = style_word(word.emotion, culture, age)
            color = data["columns"][column_of["color"]][i * 6:i * 6 + 6]
            code = data["columns"][column_of["animation"]][i]
            animation = data["vocabulary"]["animation"][data["codes"].index(code)]
            assert ("#" + color, animation) == (expected.color, expected.animation)
            for field in ("size", "weight", "letter_spacing", "animation_strength"):
                assert _numeric(data, column_of[field], i) / data["scale"][field] == getattr(expected, field)
    assert set(data["legend"]["eastern/senior"]) == set(EMOTIONS)


def _numeric(data, column_id, i):
    """Word i's integer in a numeric column, decoded as player.js does."""
    column = data["columns"][column_id]
    if isinstance(column, dict):
        return column["values"][data["codes"].index(column["codes"][i])]
    return column[i]


def test_a_numeric_column_with_too_many_values_travels_as_a_plain_list():
    from sentimentogram_cli.output.page import _ColumnStore
    few, many = [5, 7, 5, 9], list(range(100))
    assert _ColumnStore._numeric(few) == {"values": [5, 7, 9], "codes": "0102"}
    assert _ColumnStore._numeric(many) == many


def test_the_page_analysis_keeps_what_the_player_reads(make_analysis):
    analysis = make_analysis(["Hello", "world"])
    data = script_json(render_page(analysis, media="clip.mp4"), "analysis")
    assert data["source"] == analysis.source and data["duration"] == round(analysis.duration, 3)
    for line, source_line in zip(data["lines"], analysis.lines):
        for word, w in zip(line["words"], source_line.words):
            assert word == {"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3),
                            "emotion": {"emotion": w.emotion.emotion, "arousal": round(w.emotion.arousal, 3)}}


def test_line_gates_are_the_duration_weighted_share_of_audio(make_analysis):
    data = script_json(render_page(make_analysis(["a", "b", "c"], per_line=3), media="x.mp4"),
                       "page-data")
    line = data["lines"][0]
    assert line["audio"] == pytest.approx(0.5, abs=1e-3) and line["audio"] + line["text"] == pytest.approx(1)


def test_initial_culture_and_age_are_selected(make_analysis):
    html = render_page(make_analysis(["hi"]), Style(culture="eastern", age="senior"), media="x.mp4")
    assert '<body data-culture="eastern" data-age="senior"' in html
    assert '<option value="eastern" selected>' in html and '<option value="senior" selected>' in html
    with pytest.raises(ValueError):
        render_page(make_analysis(["hi"]), Style(culture="martian"), media="x.mp4")


def _talk(n_words: int, seed: int = 0) -> Analysis:
    """A talk with the numbers a real analysis has: noisy probabilities and VAD on every word."""
    rng = random.Random(seed)
    words = []
    for i in range(n_words):
        raw = [rng.random() for _ in EMOTIONS]
        probabilities = {e: p / sum(raw) for e, p in zip(EMOTIONS, raw)}
        emotion = max(probabilities, key=probabilities.get)
        audio = rng.random()
        words.append(AnalysedWord(
            text=f" word{i}", start=round(i * 0.4, 2), end=round(i * 0.4 + 0.32, 2), probability=rng.random(),
            emotion=WordEmotion(emotion, probabilities[emotion], probabilities, rng.random(), rng.random(),
                                rng.random(), audio, 1 - audio)))
    lines = [Line(chunk[0].start, chunk[-1].end, chunk) for chunk in
             (words[i:i + 12] for i in range(0, n_words, 12))]
    return Analysis("talk.mp4", "video", n_words * 0.4, "en", list(EMOTIONS), lines)


# A clip, a 10-minute and a 20-minute talk at 150 words/minute.
@pytest.mark.parametrize("n_words", [20, 1500, 3000])
def test_a_page_without_embedded_media_stays_under_1_5_mb(n_words):
    html = render_page(_talk(n_words), media="talk.mp4")
    assert len(html.encode("utf-8")) < 1_500_000


def test_the_written_page_links_its_media_relative_to_itself(make_analysis, tmp_path):
    (tmp_path / "pages").mkdir()
    target = write(make_analysis(["hi"]), tmp_path / "pages" / "clip.html", media=tmp_path / "my clip.mp4")
    assert target == tmp_path / "pages" / "clip.html"
    video = [attrs for tag, attrs in parse(target.read_text(encoding="utf-8")).tags if tag == "video"]
    assert video[0]["src"] == "../my%20clip.mp4"
    assert [p.name for p in (tmp_path / "pages").iterdir()] == ["clip.html"]  # no temporary file left behind
