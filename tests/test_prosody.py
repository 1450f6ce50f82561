"""Per-word prosody and emphasis (issue 20) on synthetic tones and on real speech.

Synthetic "words" are harmonic tones (10 harmonics, 30 ms ramps) at a speaker's pitch and level,
with short pauses between them; a whisper is noise at a lower level. Every word is measured by the
real Praat tracker (praat-parselmouth); nothing is stubbed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentimentogram_cli.constants import CHUNK_SAMPLES, SAMPLE_RATE
from sentimentogram_cli.document import Analysis, Prosody
from sentimentogram_cli.prosody import WordSpan, emphasis_of, syllables, word_prosody
from conftest import SHARED_DATA  # the project's data folder, in one place

ROOT = Path(__file__).resolve().parents[1]
RAVDESS_CLIP = SHARED_DATA / "emotional_speech/ravdess/Actor_01/03-01-01-01-01-01-01.opus"


def _tone(f0: float, db: float, seconds: float, voiced: bool, rng) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    if voiced:
        x = sum(np.sin(2 * np.pi * f0 * k * t + k) / k for k in range(1, 11))
    else:
        x = rng.standard_normal(len(t))
    x = x * np.minimum(1, np.minimum(t / 0.03, (seconds - t) / 0.03))
    return x / np.sqrt(np.mean(x ** 2)) * 10 ** (db / 20)


def _speak(words: list[dict], gap: float = 0.12, seed: int = 0):
    """(audio, spans) of synthetic words: dicts of f0, db, seconds, voiced, text."""
    rng = np.random.default_rng(seed)
    pieces, spans, t = [np.zeros(int(0.3 * SAMPLE_RATE))], [], 0.3
    for w in words:
        x = _tone(w.get("f0", 120.0), w.get("db", -20.0), w.get("seconds", 0.3), w.get("voiced", True), rng)
        spans.append(WordSpan(t, t + len(x) / SAMPLE_RATE, w.get("text", " word")))
        pieces += [x, np.zeros(int(gap * SAMPLE_RATE))]
        t += len(x) / SAMPLE_RATE + gap
    audio = np.concatenate(pieces)
    audio = (audio + rng.standard_normal(len(audio)) * 1e-4).astype(np.float32)
    return audio, spans


def _prosody(audio, spans, speakers=None):
    chunks = [audio[i: i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)]
    return word_prosody(chunks, len(audio), spans, speakers)


def _plain(n: int = 12, seed: int = 1) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"f0": 120 * 2 ** (rng.normal(0, 0.6) / 12), "db": -20 + rng.normal(0, 1.0)} for _ in range(n)]


def test_a_louder_word_is_the_emphasised_one():
    words = _plain()
    words[6]["db"] += 8
    results = _prosody(*_speak(words))
    assert results[6].prosody.loudness_db == pytest.approx(8, abs=1.5)
    assert int(np.argmax([r.emphasis for r in results])) == 6
    assert [i for i, r in enumerate(results) if r.emphasised] == [6]


def test_a_higher_word_shifts_pitch_by_its_semitones():
    words = _plain()
    words[4]["f0"] *= 2 ** (6 / 12)  # six semitones up
    results = _prosody(*_speak(words))
    assert results[4].prosody.pitch_semitones == pytest.approx(6, abs=1.0)
    assert abs(results[4].prosody.loudness_db) < 1.5
    assert int(np.argmax([r.emphasis for r in results])) == 4
    # Pitch counts towards emphasis, less than loudness (constants.py): 6 semitones higher tips a
    # word 4 dB louder over the threshold, which 4 dB alone does not.
    words[4]["db"] += 4
    louder_and_higher = _prosody(*_speak(words))
    words[4]["f0"] = 120.0
    only_louder = _prosody(*_speak(words))
    assert louder_and_higher[4].emphasised and not only_louder[4].emphasised


def test_a_longer_word_has_a_duration_ratio_above_one():
    words = _plain()
    words[8]["seconds"] = 0.75  # 2.5 times as long as the others, same text
    results = _prosody(*_speak(words))
    assert results[8].prosody.duration_ratio == pytest.approx(2.5, rel=0.15)
    assert all(r.prosody.duration_ratio < 1.2 for i, r in enumerate(results) if i != 8)
    assert int(np.argmax([r.emphasis for r in results])) == 8
    # Drawn out and 4 dB louder is emphasised; 4 dB louder alone is not.
    words[8]["db"] += 4
    assert _prosody(*_speak(words))[8].emphasised
    words[8]["seconds"] = 0.3
    assert not _prosody(*_speak(words))[8].emphasised


def test_expected_length_follows_the_syllables():
    # A three-syllable word may last three times as long as one syllable without standing out.
    words = _plain()
    words[3].update(seconds=0.9, text=" understand")
    results = _prosody(*_speak(words))
    assert syllables("understand") == 3 and syllables(" made") == 1
    assert results[3].prosody.duration_ratio == pytest.approx(1.0, rel=0.2)
    assert not results[3].emphasised


def test_a_whisper_is_unvoiced_quiet_and_not_emphasised():
    words = _plain()
    words[5].update(voiced=False, db=-32)
    results = _prosody(*_speak(words))
    assert results[5].prosody.pitch_semitones is None
    assert results[5].prosody.loudness_db < -8
    assert results[5].emphasis < 0.1 and not results[5].emphasised


def test_a_whispering_speaker_still_gets_a_baseline():
    # Every word unvoiced: no pitch anywhere, yet a louder whispered word stands out.
    words = [{"voiced": False, "db": -35.0} for _ in range(10)]
    words[7]["db"] = -27.0
    results = _prosody(*_speak(words))
    assert all(r.prosody.pitch_semitones is None for r in results)
    assert int(np.argmax([r.emphasis for r in results])) == 7 and results[7].emphasised


def test_flat_speech_has_no_emphasised_word():
    results = _prosody(*_speak([{"f0": 120.0, "db": -20.0} for _ in range(20)]))
    assert not any(r.emphasised for r in results)


def test_the_baseline_follows_a_drifting_speaker():
    # Over 60 words the level rises 24 dB and the pitch an octave: no word stands out from its
    # neighbours, except the one made 8 dB louder than the drift at its time.
    n = 60
    words = [{"db": -36 + 24 * i / n, "f0": 100 * 2 ** (i / n)} for i in range(n)]
    words[40]["db"] += 8
    results = _prosody(*_speak(words))
    emphasised = [i for i, r in enumerate(results) if r.emphasised]
    assert emphasised == [40]
    # Against the whole file the late words would all be far louder; against the running baseline
    # they are near zero.
    late = [r.prosody.loudness_db for i, r in enumerate(results) if i > 50]
    assert max(abs(x) for x in late) < 2.0


def test_each_speaker_has_a_baseline_of_their_own():
    # A quiet speaker (B) and a loud one (A) take turns: B's stressed word (+8 dB over B) stands
    # out although it is still far quieter than every word of A.
    words, speakers = [], []
    for i in range(16):
        who = "A" if (i // 4) % 2 == 0 else "B"
        words.append({"db": -12.0 if who == "A" else -34.0, "f0": 140.0})
        speakers.append(who)
    words[13]["db"] += 8  # a word of B
    audio, spans = _speak(words)
    results = _prosody(audio, spans, speakers)
    assert [i for i, r in enumerate(results) if r.emphasised] == [13]
    one_baseline = _prosody(audio, spans)  # the file as one speaker: B's word is lost among A's
    assert not one_baseline[13].emphasised


def test_short_words_count_less_and_tiny_ones_are_not_measured():
    p = Prosody(loudness_db=8.0, pitch_semitones=None, duration_ratio=1.0)
    assert emphasis_of(p, 0.06) < emphasis_of(p, 0.3)
    words = _plain(8)
    words[2]["seconds"] = 0.03
    results = _prosody(*_speak(words))
    assert results[2].prosody is None and results[2].emphasis == 0.0


def test_one_word_alone_has_nothing_to_stand_out_from():
    results = _prosody(*_speak([{"db": -10.0}]))
    assert results[0].prosody is None and not results[0].emphasised


def test_words_across_chunk_boundaries_are_measured():
    words = _plain(120, seed=3)  # ~50 s: words fall on both sides of the 30 s chunk edge
    audio, spans = _speak(words)
    crossing = [i for i, s in enumerate(spans) if s.start < CHUNK_SAMPLES / SAMPLE_RATE < s.end]
    results = _prosody(audio, spans)
    assert all(r.prosody is not None for r in results)
    assert all(abs(results[i].prosody.loudness_db) < 3 for i in crossing)


@pytest.mark.skipif(not RAVDESS_CLIP.is_file(), reason="RAVDESS clip not found in ../shared/data")
def test_a_boosted_stretch_of_real_speech_is_emphasised():
    from sentimentogram_cli.media import decode_audio

    audio = decode_audio(RAVDESS_CLIP)
    frame = SAMPLE_RATE // 50
    n = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(20 * np.log10(rms / rms.max() + 1e-12) > -30)
    a, b = loud[0] * frame / SAMPLE_RATE, (loud[-1] + 1) * frame / SAMPLE_RATE
    edges = np.linspace(a, b, 7)  # six stretches of about a word each
    spans = [WordSpan(float(s), float(e), " word") for s, e in zip(edges, edges[1:])]
    plain = _prosody(audio, spans)
    louder = audio.copy()
    i0, i1 = int(spans[3].start * SAMPLE_RATE), int(spans[3].end * SAMPLE_RATE)
    louder[i0:i1] *= 10 ** (8 / 20)
    results = _prosody(louder / np.abs(louder).max() * 0.9, spans)
    assert results[3].prosody.loudness_db > plain[3].prosody.loudness_db + 6
    assert int(np.argmax([r.emphasis for r in results])) == 3 and results[3].emphasised


def test_the_document_keeps_prosody(make_analysis):
    analysis = make_analysis(["one", "two", "three"])
    word = analysis.lines[0].words[1]
    word.prosody, word.emphasis, word.emphasised = Prosody(7.5, None, 1.3), 0.9, True
    again = Analysis.from_dict(analysis.to_dict())
    assert again.words[1].prosody == Prosody(7.5, None, 1.3)
    assert again.words[1].emphasised and again.words[1].emphasis == 0.9
    assert again.words[0].prosody is None and not again.words[0].emphasised


# ---- typography of emphasis -----------------------------------------------------------------

def _stressed(make_analysis, prosody: Prosody, emphasised: bool = True):
    analysis = make_analysis(["ask", "not", "what", "your", "country"], emotions=["neutral"])
    word = analysis.lines[0].words[4]
    word.prosody, word.emphasis, word.emphasised = prosody, 0.9 if emphasised else 0.1, emphasised
    return analysis, word


def test_accessible_preset_is_colour_only_and_weight_is_emphasis(make_analysis):
    from sentimentogram_cli.constants import AGE_GROUPS, EMOTIONS
    from sentimentogram_cli.document import WordEmotion
    from sentimentogram_cli.emphasis_style import emphasise
    from sentimentogram_cli.typography import style_word

    weights = set()
    for emotion in EMOTIONS:
        for vad in ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (0.2, 0.9, 0.1)):
            style = style_word(WordEmotion(emotion, 0.95, {emotion: 0.95}, *vad, 0.5, 0.5), "accessible")
            assert not style.italic and style.text_transform == "none" and style.animation == "none"
            assert style.size == 1.0
            weights.add(style.weight)
    assert weights == {400}  # weight is left for the emphasis
    _, word = _stressed(make_analysis, Prosody(9.0, 4.0, 2.0))
    for age in AGE_GROUPS:
        plain = style_word(word.emotion, "accessible", age)
        bold = emphasise(plain, word, "accessible", age)
        assert bold.weight >= 700 and bold.baseline_shift == 0 and bold.letter_spacing == plain.letter_spacing


def test_emphasis_maps_loudness_pitch_and_duration_to_weight_shift_and_spacing(make_analysis):
    from sentimentogram_cli.emphasis_style import emphasise
    from sentimentogram_cli.typography import style_word

    _, high = _stressed(make_analysis, Prosody(8.0, 5.0, 2.0))
    _, low = _stressed(make_analysis, Prosody(3.0, -5.0, 1.0))
    plain = style_word(high.emotion, "western")
    up, down = emphasise(plain, high, "western"), emphasise(plain, low, "western")
    assert up.weight > down.weight > plain.weight
    assert up.baseline_shift > 0 > down.baseline_shift
    assert up.letter_spacing > plain.letter_spacing == down.letter_spacing
    # age scales the movement: a senior reader's line jumps less
    senior = emphasise(style_word(high.emotion, "western", "senior"), high, "western", "senior")
    assert 0 < senior.baseline_shift < up.baseline_shift
    # a word that is not emphasised keeps its style; a whispered one gets lighter
    _, calm = _stressed(make_analysis, Prosody(1.0, 1.0, 1.1), emphasised=False)
    assert emphasise(plain, calm, "western") == plain
    _, whisper = _stressed(make_analysis, Prosody(-14.0, None, 1.0), emphasised=False)
    assert emphasise(plain, whisper, "western").weight < plain.weight


def test_the_page_marks_emphasised_words_and_has_a_switch(make_analysis):
    import json
    import re

    from sentimentogram_cli.output.page import render_page
    from sentimentogram_cli.style import Style

    analysis, _ = _stressed(make_analysis, Prosody(8.0, 2.0, 1.5))
    html = render_page(analysis, Style("accessible"))
    assert len(re.findall(r'class="word tword" data-i="4"[^>]*data-emph="1"', html)) == 1
    assert html.count('data-emph="1"') == 1 and 'id="emphasis"' in html and " checked" in html
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', html, re.S).group(1))
    assert data["initial"]["emphasis"] is True
    note = data["notes"]["accessible"]  # the legend says what colour and weight mean
    assert "Colour: the emotion" in note and "Bold: an emphasised word" in note
    # the emphasised styles differ from the plain ones in the weight column only for this word
    combo, stressed = data["combos"]["accessible/adult"], data["emphasised"]["accessible/adult"]
    assert combo["color"] == stressed["color"] and combo["weight"] != stressed["weight"]
    off = render_page(analysis, Style("accessible", emphasis="off"))
    assert '"emphasis":false' in off and 'id="emphasis" aria-label="emphasis from prosody">' in off


def test_emphasis_switch_on_the_command_line(make_analysis, run_cli, tmp_path):
    analysis, _ = _stressed(make_analysis, Prosody(8.0, 2.0, 1.5))
    doc = analysis.save(tmp_path / "talk.json")
    code, output = run_cli(["restyle", str(doc), "--emphasis", "loud", "--out", str(tmp_path / "x.html")])
    assert code != 0 and "emphasis" in output and "Traceback" not in output
    code, output = run_cli(["restyle", str(doc), "--emphasis", "off", "--out", str(tmp_path / "off.html")])
    assert code == 0, output
    assert '"emphasis":false' in (tmp_path / "off.html").read_text()


def test_exports_carry_the_emphasis(make_analysis):
    import re

    from sentimentogram_cli.output.ass import to_ass
    from sentimentogram_cli.output.subtitles import to_vtt
    from sentimentogram_cli.style import Style

    analysis, _ = _stressed(make_analysis, Prosody(8.0, 2.0, 1.5))
    vtt = to_vtt(analysis, Style())
    assert "<b>country</b>" in vtt and vtt.count("<b>") == 1
    assert "<b>" not in to_vtt(analysis, Style(emphasis="off"))
    ass = to_ass(analysis, Style())
    assert re.search(r"\\b1[^}]*\}\s*country", ass)
    assert not re.search(r"\\b1[^}]*\}\s*country", to_ass(analysis, Style(emphasis="off")))


@pytest.mark.browser
def test_the_page_switch_turns_emphasis_on_and_off_live(make_analysis, browser, tmp_path):
    from sentimentogram_cli.output.page import render_page
    from sentimentogram_cli.style import Style

    analysis, _ = _stressed(make_analysis, Prosody(8.0, 5.0, 2.0))
    page_file = tmp_path / "page.html"
    page_file.write_text(render_page(analysis, Style("western")), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.goto(page_file.as_uri())
    # No media (the silent clock): a click on a transcript word shows its line.
    page.click('.tword[data-i="4"]')
    stressed = page.locator('#caption strong.word[data-i="4"]')
    assert stressed.count() == 1
    plain_weight = page.evaluate("getComputedStyle(document.querySelector('#caption .word[data-i=\"3\"]')).fontWeight")
    assert int(stressed.evaluate("el => getComputedStyle(el).fontWeight")) > int(plain_weight)
    assert stressed.evaluate("el => parseFloat(getComputedStyle(el).top)") < 0  # said higher: raised
    assert page.locator('.tword[data-i="4"].emph').count() == 1
    page.uncheck("#emphasis")
    assert page.locator("#caption strong.word").count() == 0
    assert page.locator(".tword.emph").count() == 0
    page.check("#emphasis")
    page.select_option("#culture", "accessible")
    assert "Bold: an emphasised word" in page.inner_text("#legend-note")
    assert page.locator('#caption strong.word[data-i="4"]').evaluate("el => getComputedStyle(el).fontWeight") == "700"
    context.close()


# ---- end to end: a boosted word through render, in the page, the VTT and the ASS --------------

E2E_CLIP = SHARED_DATA / "emotional_speech/ravdess/Actor_01/03-01-02-01-02-01-01.opus"


@pytest.mark.slow
@pytest.mark.skipif(not E2E_CLIP.is_file(), reason="RAVDESS clip not found in ../shared/data")
def test_render_shows_a_boosted_word_as_emphasised_in_page_vtt_and_ass(run_cli, tmp_path):
    import json
    import re

    import soundfile

    from sentimentogram_cli.analyser import Analyser
    from sentimentogram_cli.media import decode_audio

    audio = decode_audio(E2E_CLIP)  # calm "Dogs are sitting by the door"
    words = Analyser(device="cpu", asr_model="tiny.en").transcribe(audio).words
    target = next(w for w in words if w.text.strip().lower().strip(".,") == "sitting")
    gain = np.ones(len(audio))
    a, b = int(target.start * SAMPLE_RATE), int(target.end * SAMPLE_RATE)
    gain[a:b] = 10 ** (8 / 20)  # the word's samples 8 dB louder
    louder = (audio * gain).astype(np.float32)
    louder /= max(1.0, float(np.abs(louder).max()) / 0.99)
    clip = tmp_path / "dogs.wav"
    soundfile.write(clip, louder, SAMPLE_RATE, subtype="PCM_16")
    code, output = run_cli(["render", str(clip), "--format", "html,json,vtt,ass", "--asr-model", "tiny.en",
                            "--no-cache", "--out", str(tmp_path / "dogs")])
    assert code == 0, output
    analysis = Analysis.load(tmp_path / "dogs.json")
    overlap = [max(0.0, min(w.end, target.end) - max(w.start, target.start)) for w in analysis.words]
    k = int(np.argmax(overlap))
    word = analysis.words[k]
    assert word.text.strip().lower() == "sitting"
    assert word.emphasised and word.emphasis == max(w.emphasis for w in analysis.words)
    assert word.prosody.loudness_db > 4
    html = (tmp_path / "dogs.html").read_text()
    assert re.search(rf'data-i="{k}"[^>]*data-emph="1"[^>]*>sitting<', html)
    page_words = [w for line in json.loads(re.search(r'id="analysis">(.*?)</script>', html, re.S).group(1))["lines"]
                  for w in line["words"]]
    assert page_words[k].get("emphasised") is True
    assert "<b>sitting</b>" in (tmp_path / "dogs.vtt").read_text()
    assert re.search(r"\\b1[^}]*\}\s*sitting", (tmp_path / "dogs.ass").read_text())
