"""Speakers in the analysis document and every export (issue 21): the document round trip,
renaming, VTT voice tags, SRT "- " lines, an ASS style per speaker, the page's chips, legend and
filter (in Chromium too). The clustering and the real-voice tests are in test_speakers.py."""

from __future__ import annotations

import pytest

from sentimentogram_cli.errors import UsageError


def _dialogue(make_analysis, names=("Speaker A", "Speaker B")):
    """Two speakers taking turns: lines of 4 words, A B A; a v3-like document has no cues, so
    the writers cut them (never across a change of speaker)."""
    from sentimentogram_cli.document import Speaker

    analysis = make_analysis(["Hello", "there", "how", "are", "Fine", "thanks", "and", "you", "Great", "news",
                              "every", "day"], per_line=4, step=0.35)
    for k, line in enumerate(analysis.lines):
        line.speaker = "AB"[k % 2]
        for w in line.words:
            w.speaker = line.speaker
    for a, b in zip(analysis.lines, analysis.lines[1:]):  # a pause between turns
        shift = a.end + 0.6 - b.start
        for line in analysis.lines[analysis.lines.index(b):]:
            line.start, line.end = line.start + shift, line.end + shift
            for w in line.words:
                w.start, w.end = round(w.start + shift, 3), round(w.end + shift, 3)
    analysis.duration = analysis.lines[-1].end + 0.5
    analysis.speakers = [Speaker("A", names[0], 2.6), Speaker("B", names[1], 1.3)]
    return analysis


def test_document_round_trip_keeps_speakers(make_analysis, tmp_path):
    from sentimentogram_cli.document import Analysis

    analysis = _dialogue(make_analysis)
    back = Analysis.load(analysis.save(tmp_path / "a.json"))
    assert [s.__dict__ for s in back.speakers] == [s.__dict__ for s in analysis.speakers]
    assert [line.speaker for line in back.lines] == ["A", "B", "A"]
    assert [w.speaker for w in back.words] == [w.speaker for w in analysis.words]
    old = analysis.to_dict()
    old["schema_version"] = 3
    for line in old["lines"]:
        line.pop("speaker")
        for w in line["words"]:
            w.pop("speaker")
    old.pop("speakers")
    legacy = Analysis.from_dict(old)
    assert legacy.speakers == [] and all(w.speaker is None for w in legacy.words)


def test_rename_speakers(make_analysis):
    from sentimentogram_cli.speakers import rename_speakers

    analysis = rename_speakers(_dialogue(make_analysis), {"A": "Host", "B": "Guest"})
    assert [s.name for s in analysis.speakers] == ["Host", "Guest"]
    with pytest.raises(UsageError, match="speakers: A, B"):
        rename_speakers(analysis, {"C": "Nobody"})


def test_vtt_has_voice_tags_and_cues_never_span_speakers(make_analysis):
    from sentimentogram_cli.output.subtitles import to_vtt

    vtt = to_vtt(_dialogue(make_analysis, ("Host", "Guest <&>")))
    cues = [block.split("\n")[2:] for block in vtt.split("\n\n") if "-->" in block]
    assert len(cues) >= 3
    voices = [row.split(">", 1)[0] for rows in cues for row in rows[:1]]
    assert voices[0] == "<v Host" and "<v Guest &lt;&amp;&gt;" in voices
    for rows in cues:
        assert sum(r.count("<v ") for r in rows) == 1


def test_srt_marks_two_speakers_in_one_cue(make_analysis):
    from sentimentogram_cli.document import Cue
    from sentimentogram_cli.output.subtitles import row_speakers, to_srt

    analysis = _dialogue(make_analysis)
    srt = to_srt(analysis)
    assert "- " not in srt  # one speaker per cue: no dash
    assert srt.count("[Speaker A] ") == 2 and srt.count("[Speaker B] ") == 1  # a label at each turn
    words = analysis.words
    who, dialogue = row_speakers(words, Cue(0.0, 3.0, [[0, 4], [4, 8]]))
    assert who == ["A", "B"] and dialogue
    assert not row_speakers(words, Cue(0.0, 3.0, [[0, 2], [2, 4]]))[1]


def test_srt_dash_lines_when_a_cue_holds_two_speakers(make_analysis, monkeypatch):
    """Cues cut elsewhere may hold a quick exchange: each speaker's line starts with "- "."""
    from sentimentogram_cli.document import Cue
    from sentimentogram_cli.output import subtitles

    analysis = _dialogue(make_analysis)
    words = analysis.words
    cue = Cue(words[0].start, words[7].end, [[0, 4], [4, 8]])
    monkeypatch.setattr(subtitles, "styled_cues", lambda *a, **k: [cue])
    srt = subtitles.to_srt(analysis)
    assert "\n- Hello there how are\n- Fine thanks and you\n" in srt
    vtt = subtitles.to_vtt(analysis)
    assert "<v Speaker A>- " in vtt and "<v Speaker B>- " in vtt


def test_a_monologue_gets_no_speaker_markup(make_analysis):
    from sentimentogram_cli.document import Speaker
    from sentimentogram_cli.output.subtitles import to_vtt

    analysis = make_analysis(["One", "voice", "only"])
    for w in analysis.words:
        w.speaker = "A"
    analysis.speakers = [Speaker("A", "Speaker A", 1.0)]
    assert "<v " not in to_vtt(analysis)


def test_ass_has_a_style_per_speaker(make_analysis):
    from sentimentogram_cli.output.ass import to_ass

    ass = to_ass(_dialogue(make_analysis, ("Host", "Guest, the")))
    styles = [line.split(",")[0] for line in ass.splitlines() if line.startswith("Style: ")]
    assert "Style: speaker-a" in styles and "Style: speaker-b" in styles
    events = [line.split(",", 9) for line in ass.splitlines() if line.startswith("Dialogue:")]
    assert [(e[3], e[4]) for e in events[:3]] == [("speaker-a", "Host"), ("speaker-b", "Guest  the"), ("speaker-a", "Host")]


def test_page_has_speaker_chips_legend_and_filter(make_analysis):
    from sentimentogram_cli.output.page import render_page

    html = render_page(_dialogue(make_analysis, ("Host", "<Guest>")))
    assert html.count('class="tline turn"') == 3
    assert 'id="speaker-legend"' in html and 'id="speaker-filter"' in html
    assert "&lt;Guest&gt;" in html and "<Guest>" not in html
    assert html.count('name="speaker-filter"') == 3  # everyone, Host, Guest


@pytest.mark.browser
def test_page_speaker_filter_and_caption_chip_in_chromium(browser, make_analysis, tmp_path):
    """In Chromium: choosing a speaker in the transcript panel hides the other's lines; clicking
    a word of the second speaker shows that speaker's chip above the caption."""
    from sentimentogram_cli.output.page import render_page

    path = tmp_path / "dialogue.html"
    path.write_text(render_page(_dialogue(make_analysis, ("Host", "Guest"))), encoding="utf-8")
    tab = browser.new_page()
    try:
        tab.goto(path.as_uri())
        visible = 'document.querySelectorAll(".tline:not(.filtered-out)").length'
        assert tab.evaluate(visible) == 3
        tab.check('input[name="speaker-filter"][value="B"]')
        assert tab.evaluate(visible) == 1
        assert tab.evaluate('document.querySelector(".tline:not(.filtered-out)").dataset.speaker') == "B"
        tab.check('input[name="speaker-filter"][value=""]')
        assert tab.evaluate(visible) == 3
        tab.click('.tline[data-speaker="B"] .tword')
        tab.wait_for_function('!document.getElementById("caption-speaker").hidden')
        assert tab.inner_text("#caption-speaker") == "Guest"
    finally:
        tab.close()
