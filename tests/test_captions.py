"""Cue segmentation by the subtitle rules (sentimentogram_cli.captions) on hand-made word lists:
long sentences, rapid speech, one-word answers, long silences, monologues without punctuation,
speaker changes; and the rules' own checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pytest

from sentimentogram_cli.captions import (RULES, CaptionRules, check_cues, cue_text, cues_for, cut_cues,
                                         line_text, verbatim)
from sentimentogram_cli.captions.breaks import BEFORE_PREPOSITION, NEVER, SENTENCE, break_cost
from sentimentogram_cli.document import Analysis, AnalysedWord, Cue, Line, WordEmotion
from sentimentogram_cli.errors import UsageError


@dataclass
class W:
    text: str
    start: float
    end: float
    speaker: str | None = None


def speak(text: str, t0: float = 0.0, cps: float = 14.0, pause: float = 0.0, speaker: str | None = None,
          sentence_pause: float = 0.0) -> list[W]:
    """Words of ``text`` spoken at ``cps`` characters a second (Whisper-style leading spaces)."""
    out, t = [], t0
    for tok in text.split():
        d = max(0.12, (len(tok) + 1) / cps)
        out.append(W(" " + tok, round(t, 3), round(t + d, 3), speaker))
        t += d + pause + (sentence_pause if tok[-1] in ".?!" else 0.0)
    return out


def then(words: list[W], text: str, silence: float, **kw) -> list[W]:
    return words + speak(text, t0=words[-1].end + silence, **kw)


RULES_ADULT = CaptionRules()


def reports(words, cues, rules=RULES_ADULT):
    assert verbatim(words, cues), "cues must hold every word once, in order"
    return check_cues(words, cues, rules)


def assert_layout_rules(words, cues, rules=RULES_ADULT):
    """Rules every cut meets whatever the speech: lines, characters, duration cap, no overlap,
    gaps of 2 frames or none, no cue across a long silence or a change of speaker, words inside
    their cue."""
    for rep, cue in zip(reports(words, cues, rules), cues):
        assert not rep.broken & {"chars", "lines", "long", "overlap", "gap", "silence", "speaker"}, (rep, cue)
        first, last = words[cue.lines[0][0]], words[cue.lines[-1][1] - 1]
        assert cue.start <= first.start + 1e-9 and cue.end >= last.end - 1e-9
        assert first.start - cue.start <= rules.max_lead + 1e-6


TALK = ("Good evening, everyone, and thank you for coming out tonight despite the weather. "
        "I want to talk about something that has been on my mind for a very long time now. "
        "When we first moved into this neighbourhood, the park at the end of the street was empty. "
        "Nobody went there. The swings were broken, and the grass was taller than the children. "
        "So a few of us decided to do something about it, and that is how this committee began.")


def test_long_sentences_follow_every_rule():
    words = speak(TALK, cps=15, sentence_pause=0.3)
    cues = cut_cues(words)
    assert_layout_rules(words, cues)
    reps = reports(words, cues)
    assert not [r for r in reps if r.breaks_rules]
    assert all(len(r.lines) <= 2 for r in reps) and any(len(r.lines) == 2 for r in reps)
    # Break at sentence ends first: most cues end one, none ends on an article.
    ends = [break_cost(words[c.lines[-1][1] - 1].text, words[c.lines[-1][1]].text) for c in cues[:-1]]
    assert sum(e <= BEFORE_PREPOSITION for e in ends) >= len(ends) * 0.8, ends
    assert NEVER not in ends
    assert sum(e == SENTENCE for e in ends) >= 3
    # Two lines are balanced and broken where the grammar allows.
    for r in reps:
        if len(r.lines) == 2:
            assert abs(len(r.lines[0]) - len(r.lines[1])) <= 26, r.lines
            assert r.lines[0].split()[-1].lower() not in ("the", "a", "an", "of", "to"), r.lines


def test_never_between_article_and_noun():
    assert break_cost(" the", " door") == NEVER
    assert break_cost(" door!", " Kids") == SENTENCE
    assert break_cost(" Mr.", " Smith") == NEVER  # an abbreviation ends no sentence
    assert break_cost(" here", " because") < break_cost(" quick", " here")
    # 40 characters, a line's worth: no cue or line may end on "the"/"a".
    words = speak("we walked all the way down to the old harbour where a small boat was waiting "
                  "for the children and the dog", cps=12)
    for cue in cut_cues(words):
        for _, b in cue.lines:
            assert words[b - 1].text.strip() not in ("the", "a", "to")


def test_rapid_speech_uses_gaps_and_counts_what_cannot_be_met():
    # 26 characters a second, sentences parted by 0.6 s: holding cues into the gaps meets 20 cps.
    text = ("I told you already. We need the report by Friday. Nobody reads the minutes anyway. "
            "Send it to me first. Then we talk about the budget.")
    words = speak(text, cps=26, sentence_pause=0.6)
    cues = cut_cues(words)
    assert_layout_rules(words, cues)
    reps = reports(words, cues)
    assert not [r for r in reps if r.breaks_rules], [(r.lines, r.cps) for r in reps]
    # Without gaps, 26 cps of continuous speech cannot be read at 20 cps without dropping words:
    # the cues keep every word, and every speed breach is one the speech forced.
    words = speak(text * 2, cps=26)
    cues = cut_cues(words)
    assert_layout_rules(words, cues)
    reps = reports(words, cues)
    slow = [r for r in reps if "speed" in r.broken]
    assert slow and all("forced_speed" in r.broken for r in slow)
    assert len(slow) < len(reps)  # the last cue is held after the speech ends


def test_one_word_answers_stand_alone_between_silences():
    words = speak("Did you see who came to the door last night?", cps=14)
    words = then(words, "No.", 2.0)
    words = then(words, "Are you sure?", 2.0)
    words = then(words, "Yes.", 2.5)
    cues = cut_cues(words)
    assert_layout_rules(words, cues)
    texts = [" ".join(cue_text(words, c)) for c in cues]
    assert "No." in texts and "Yes." in texts
    reps = reports(words, cues)
    assert not [r for r in reps if r.breaks_rules or "one_word" in r.broken]
    no = cues[texts.index("No.")]
    assert no.end - no.start >= 5 / 6 - 1e-6  # held for the minimum duration


def test_no_one_word_cue_inside_an_utterance():
    words = speak("Yes. I think we should leave before the rain starts, because the road floods. Right.",
                  cps=15)
    cues = cut_cues(words)
    reps = reports(words, cues)
    assert all(len(c.word_indices()) > 1 for c in cues), [r.lines for r in reps]
    assert not [r for r in reps if "one_word" in r.broken]


def test_no_cue_spans_a_long_silence_or_a_change_of_speaker():
    words = speak("So where were you", cps=14, speaker="A")
    words = then(words, "at the station waiting", 1.6, cps=14, speaker="A")  # 1.6 s silence
    words = then(words, "I was right here", 0.1, cps=14, speaker="B")  # a new speaker, no pause
    cues = cut_cues(words)
    assert_layout_rules(words, cues)
    assert [" ".join(cue_text(words, c)) for c in cues] == [
        "So where were you", "at the station waiting", "I was right here"]
    assert not [r for r in reports(words, cues) if r.breaks_rules]
    # A silence just under the threshold is not a boundary.
    words = speak("So where were you", cps=14)
    words = then(words, "last night", 1.2, cps=14)
    assert len(cut_cues(words)) == 1


def test_seven_second_monologue_without_punctuation():
    text = ("and then we went down the hill and over the bridge and past the old mill where the "
            "farmer keeps his goats and we kept walking until the sun went down behind the trees "
            "and nobody said a word the whole way home")
    words = speak(text, cps=13)
    assert words[-1].end - words[0].start > 14
    cues = cut_cues(words)
    assert_layout_rules(words, cues)
    reps = reports(words, cues)
    assert not [r for r in reps if r.breaks_rules]
    assert all(c.end - c.start <= 7.0 + 1e-6 for c in cues)
    # Without punctuation, cues break before conjunctions and prepositions, never after an article.
    nexts = [words[c.lines[-1][1]].text.strip() for c in cues[:-1]]
    assert sum(n in ("and", "until", "where", "over", "past", "behind", "down") for n in nexts) >= len(nexts) // 2, nexts
    assert all(words[c.lines[-1][1] - 1].text.strip() not in ("the", "a", "his") for c in cues)


def test_gaps_are_two_frames_or_chained_and_short_gaps_closed():
    words = speak("This is the first sentence, and it is long enough for a cue.", cps=14)
    words = then(words, "And this one follows closely, after a short breath.", 0.3, cps=14)  # closed
    words = then(words, "This comes a second later, after a longer pause.", 1.0, cps=14)  # kept
    cues = cut_cues(words)
    assert len(cues) == 3
    gaps = [round(b.start - a.end, 3) for a, b in zip(cues, cues[1:])]
    assert gaps[0] in (0.0, 0.083, 0.084)
    assert gaps[1] >= 0.5


def test_a_word_longer_than_a_line_is_shown_as_it_is():
    words = speak("visit https://example.org/a/very/long/path/that/never/ends/at/all today", cps=14)
    cues = cut_cues(words)
    assert verbatim(words, cues)
    assert any("chars" in r.broken for r in check_cues(words, cues, RULES_ADULT))


def test_reading_speed_is_a_rule_a_viewer_can_change():
    words = speak("Kids are talking by the door. Dogs are sitting by the door.", cps=19)
    child = CaptionRules(max_cps=15)
    for rules in (RULES_ADULT, child):
        cues = cut_cues(words, rules)
        assert verbatim(words, cues)
        assert not [r for r in check_cues(words, cues, rules) if r.breaks_rules]
    assert cut_cues(words, child)[-1].end > cut_cues(words)[-1].end  # held longer for children
    with pytest.raises(UsageError):
        CaptionRules(max_cps=0)
    with pytest.raises(UsageError):
        CaptionRules.from_dict({"max_speed": 20})
    assert CaptionRules.from_dict(child.to_dict()) == child


def _analysis(words: list[W]) -> Analysis:
    emotion = WordEmotion("neutral", 1.0, {"neutral": 1.0}, 0.5, 0.2, 0.4, 0.5, 0.5)
    aw = [AnalysedWord(w.text, w.start, w.end, 0.9, emotion) for w in words]
    return Analysis(source="x.wav", media_kind="audio", duration=words[-1].end + 1, language="en",
                    labels=["neutral"], lines=[Line(aw[0].start, aw[-1].end, aw)])


def test_cues_for_uses_the_documents_cues_or_cuts_them():
    words = speak(TALK, cps=15)
    analysis = _analysis(words)
    cut = cues_for(analysis)  # a version 3 document has no cues: cut now
    assert verbatim(analysis.words, cut)
    analysis.cues, analysis.caption_rules = [Cue(0.0, 99.0, [[0, len(words)]])], RULES_ADULT.to_dict()
    assert cues_for(analysis, RULES_ADULT) is analysis.cues  # the document's own
    recut = cues_for(analysis, CaptionRules(max_cps=15))  # another reading speed: cut again
    assert recut != analysis.cues and verbatim(analysis.words, recut)
    restored = Analysis.from_dict(analysis.to_dict())
    assert restored.cues == analysis.cues and restored.caption_rules == analysis.caption_rules


def test_line_text_is_the_words_as_said():
    words = [W(" Hello", 0, 0.3), W(",", 0.3, 0.3), W(" world", 0.4, 0.8)]
    assert line_text(words, 0, 3) == "Hello, world"
    assert set(RULES) == {"chars", "lines", "short", "long", "speed", "overlap"}


# ---- end to end: the real models on a multi-sentence talk -----------------------------------

def _parse_cues(text: str, sep: str) -> list[tuple[float, float, list[str]]]:
    """(start, end, text lines) of each cue of an SRT (sep ",") or WebVTT (sep ".") file."""
    import re

    def seconds(stamp: str) -> float:
        h, m, s = stamp.replace(sep, ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    out = []
    for block in text.replace("\r", "\n").split("\n\n"):
        rows = block.strip("\n").split("\n")
        for k, row in enumerate(rows):
            found = re.fullmatch(rf"(\d\d:\d\d:\d\d{re.escape(sep)}\d{{3}}) --> (\d\d:\d\d:\d\d{re.escape(sep)}\d{{3}})", row)
            if found:
                # Words only: no VTT tags, no speaker label ("[Name] ") or dialogue dash ("- ").
                lines = [re.sub(r"^(\[[^\]]*\] |- )", "", re.sub(r"<[^>]*>", "", r)) for r in rows[k + 1:]]
                out.append((seconds(found.group(1)), seconds(found.group(2)), lines))
    return out


@pytest.mark.slow
def test_a_rendered_talk_has_srt_and_vtt_cues_that_follow_the_rules(tmp_path, run_cli, shared_data):
    """A multi-sentence talk (JFK's 11 s sentence, then six RAVDESS sentences with short pauses),
    rendered by the real recogniser and head: its SRT and VTT hold the same cues, every word once,
    and every rule holds (a speed breach only where the speech itself is faster)."""
    import json

    import soundfile as sf

    from sentimentogram_cli.constants import SAMPLE_RATE
    from sentimentogram_cli.media import decode_audio

    pieces = [decode_audio(shared_data / "examples" / "jfk.flac")]
    actor = shared_data / "emotional_speech" / "ravdess" / "Actor_11"
    for i, name in enumerate(sorted(actor.glob("03-01-0[1-4]-*-01-11.opus"))[:6]):
        pieces += [np.zeros(int((0.25 + 0.15 * (i % 3)) * SAMPLE_RATE), np.float32), decode_audio(name)]
    talk = tmp_path / "talk.wav"
    sf.write(talk, np.concatenate(pieces), SAMPLE_RATE)
    code, output = run_cli(["render", str(talk), "--format", "srt,vtt,json", "--device", "cpu"])
    assert code == 0, output
    doc = Analysis.load(tmp_path / "talk.json")
    words = doc.words
    assert len(words) >= 30 and doc.cues and verbatim(words, doc.cues)
    srt = _parse_cues((tmp_path / "talk.srt").read_text(encoding="utf-8"), ",")
    vtt = _parse_cues((tmp_path / "talk.vtt").read_text(encoding="utf-8"), ".")
    assert [(s, e) for s, e, _ in srt] == [(s, e) for s, e, _ in vtt] == [(c.start, c.end) for c in doc.cues]
    assert [" ".join(r) for *_, r in srt] == [" ".join(r) for *_, r in vtt]
    said = " ".join(" ".join(rows) for *_, rows in srt).split()
    assert said == " ".join(w.text.strip() for w in words).split()  # verbatim: every word, in order
    rules = CaptionRules.from_dict(doc.caption_rules)
    for (start, end, rows), rep in zip(srt, check_cues(words, doc.cues, rules)):
        assert 1 <= len(rows) <= 2 and all(len(r) <= 42 for r in rows), rows  # (a speaker label comes on top)
        assert 5 / 6 - 0.002 <= end - start <= 7.0 + 0.002, (start, end, rows)
        assert not rep.broken & {"chars", "lines", "short", "long", "overlap", "gap", "silence", "one_word"}, rep
        if "speed" in rep.broken:
            assert "forced_speed" in rep.broken, rep
    for (_, end, _), (start, _, _) in zip(srt, srt[1:]):
        assert start - end >= 0.083 or start == end  # 2 frames, or chained
    assert json.loads((tmp_path / "talk.json").read_text())["caption_rules"]["max_cps"] == 20.0


# ---- the page shows the cues ------------------------------------------------------------------

@pytest.mark.browser
def test_the_page_shows_each_cue_on_its_lines_and_lights_each_word(browser, make_analysis, tmp_path):
    """In Chromium: at each cue's words, the caption holds exactly that cue's lines (a <br>
    between two), and the active word is the one being said; switching the age group to child
    shows the child's cues (cut for its slower reading speed)."""
    import shutil
    import subprocess

    from sentimentogram_cli.output.page import render_page
    from sentimentogram_cli.output.subtitles import caption_rules_for
    from sentimentogram_cli.style import Style

    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg for its video")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "22", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(tmp_path / "talk.mp4")],
                   check=True, timeout=120)
    analysis = make_analysis(TALK.split()[:60], start=0.5, step=0.33, per_line=12, duration=22.0,
                             source="talk.mp4")
    (tmp_path / "talk.html").write_text(render_page(analysis, media="talk.mp4"), encoding="utf-8")
    words = analysis.words
    context = browser.new_context(bypass_csp=True, viewport={"width": 1000, "height": 760})
    page = context.new_page()
    page.goto((tmp_path / "talk.html").as_uri())
    page.wait_for_function("document.getElementById('media').readyState >= 1", timeout=15_000)

    def shown(t: float) -> tuple[list[str], str | None]:
        return page.evaluate("""async (t) => {
            const media = document.getElementById('media');
            await new Promise(done => { media.addEventListener('seeked', done, {once: true}); media.currentTime = t; });
            await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
            const caption = document.getElementById('caption');
            const rows = caption.innerHTML.split(/<br\\s*\\/?>/).map(html => {
                const div = document.createElement('div'); div.innerHTML = html;
                return div.textContent.replace(/\\s+/g, ' ').trim();
            });
            const active = caption.querySelector('.word.active');
            return [rows, active ? active.dataset.start : null];
        }""", t)

    try:
        adult = cues_for(analysis, caption_rules_for(Style(age="adult")))
        assert any(len(c.lines) == 2 for c in adult)
        for cue in adult:
            for i in (cue.lines[0][0], cue.lines[-1][1] - 1):
                rows, active = shown(words[i].start + 0.02)
                assert rows == cue_text(analysis, cue), (rows, cue)
                assert active == f"{words[i].start:.3f}"
        child = cues_for(analysis, caption_rules_for(Style(age="child")))
        assert child != adult  # cut again for the slower reading speed
        page.select_option("#age", "child")
        for cue in child[:4]:
            rows, _ = shown(words[cue.lines[0][0]].start + 0.02)
            assert rows == cue_text(analysis, cue), (rows, cue)
    finally:
        context.close()


def test_random_word_lists_keep_the_hard_rules():
    """300 random word lists (pauses, zero-length and 9 s words, speaker changes, one long word,
    reading speeds 12-25): every word once, no overlap, gaps of 2 frames or none, no cue over
    7 s or across a long silence or speakers, each word inside its cue, lead at most 0.5 s."""
    import random

    tokens = TALK.split() + ["a", "the", "No.", "Yes!", "x", "-", "ok,", "supercalifragilisticexpialidocious"]
    for seed in range(300):
        rnd = random.Random(seed)
        t, words, speaker = rnd.random(), [], "A"
        for _ in range(rnd.randint(1, 80)):
            if rnd.random() < 0.05:
                speaker = "B" if speaker == "A" else "A"
            start = t + rnd.choice([0.0, 0.02, 0.1, 0.3, 0.5, 1.0, 2.5]) * rnd.random()
            length = rnd.choice([0.0, 0.05, 0.2, 0.4, 0.8, 9.0 if rnd.random() < 0.01 else 0.3])
            words.append(W(" " + rnd.choice(tokens), round(start, 3), round(start + length, 3),
                           speaker if seed % 2 else None))
            t = start + length
        rules = CaptionRules(max_cps=rnd.choice([12, 15, 20, 25]))
        cues = cut_cues(words, rules, t + rnd.random() * 3)
        assert verbatim(words, cues), seed
        for cue, rep in zip(cues, check_cues(words, cues, rules)):
            first, last = words[cue.lines[0][0]], words[cue.lines[-1][1] - 1]
            assert cue.start <= first.start + 1e-9 and cue.end >= last.end - 1e-9, (seed, cue)
            assert first.start - cue.start <= rules.max_lead + 1e-6, (seed, cue)
            assert not rep.broken & {"lines", "overlap", "gap", "silence", "speaker"}, (seed, rep)
            assert "long" not in rep.broken or len(cue.word_indices()) == 1, (seed, rep)
            assert "chars" not in rep.broken or any(" " not in line for line in rep.lines), (seed, rep)
