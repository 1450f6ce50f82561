"""The typography mapper: presets, the continuous VAD/confidence mapping, contrast, style files."""

import itertools

import pytest

from sentimentogram_cli.document import WordEmotion
from sentimentogram_cli.constants import AGE_GROUPS, CATEGORY_VAD, CULTURES, EMOTIONS
from sentimentogram_cli.colour import contrast_ratio, ensure_contrast
from sentimentogram_cli.errors import SentimentogramError, UsageError
from sentimentogram_cli.style import Style
from sentimentogram_cli.style_file import StyleFileError, load_style_file
from sentimentogram_cli.typography import ANIMATIONS, FONT_FACES, MIN_CONTRAST, PRESETS, style_table, style_word


def feeling(emotion="neutral", confidence=0.9, valence=None, arousal=None, dominance=None):
    v, a, d = CATEGORY_VAD.get(emotion, CATEGORY_VAD["neutral"])
    return WordEmotion(emotion=emotion, confidence=confidence, probabilities={emotion: confidence},
                       valence=v if valence is None else valence,
                       arousal=a if arousal is None else arousal,
                       dominance=d if dominance is None else dominance,
                       audio_gate=0.5, text_gate=0.5)


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near-miss
    assert contrast_ratio("#000", "#fff") == contrast_ratio("#ffffff", "#000000")


def test_ensure_contrast_fixes_the_papers_near_black_anger_on_a_dark_box():
    assert contrast_ratio("#1a1a1a", "#121317") < 1.5
    fixed = ensure_contrast("#1a1a1a", "#121317", 4.5)
    assert contrast_ratio(fixed, "#121317") >= 4.5
    assert ensure_contrast("#ffd700", "#121317") == "#ffd700"  # a passing colour is left alone


def test_every_preset_colour_passes_on_its_own_background_without_correction():
    for culture, table in PRESETS.items():
        assert set(table) == set(EMOTIONS)
        for emotion, style in table.items():
            assert contrast_ratio(style.color, style.background) >= MIN_CONTRAST[culture], (culture, emotion)


@pytest.mark.parametrize("culture", CULTURES)
@pytest.mark.parametrize("age", AGE_GROUPS)
def test_style_table_keeps_contrast_for_every_emotion_and_age(culture, age):
    table = style_table(culture, age)
    assert list(table) == list(EMOTIONS)
    for emotion, style in table.items():
        assert contrast_ratio(style.color, style.background) >= max(4.5, MIN_CONTRAST[culture]), emotion


def test_contrast_and_ranges_hold_over_a_grid_of_vad_and_confidence():
    levels = (0.0, 0.5, 1.0)
    for culture, age, emotion in itertools.product(CULTURES, AGE_GROUPS, EMOTIONS):
        for v, a, d, c in itertools.product(levels, levels, levels, (0.0, 0.3, 0.6, 1.0)):
            style = style_word(feeling(emotion, c, v, a, d), culture, age)
            where = (culture, age, emotion, v, a, d, c)
            assert contrast_ratio(style.color, style.background) >= 4.5, where
            assert 100 <= style.weight <= 900 and 0.5 < style.size < 2.5, where
            assert style.animation in ANIMATIONS and 0.0 <= style.animation_strength <= 1.0, where


def test_out_of_range_inputs_are_clamped_not_trusted():
    style = style_word(feeling("angry", 3.0, valence=-2, arousal=9, dominance=-1), "eastern", "adult")
    assert contrast_ratio(style.color, style.background) >= 4.5
    assert 100 <= style.weight <= 900


@pytest.mark.parametrize("culture", ("western", "eastern"))  # accessible: colour only (test_emphasis_style)
@pytest.mark.parametrize("emotion", EMOTIONS)
def test_higher_arousal_gives_a_larger_word(culture, emotion):
    sizes = [style_word(feeling(emotion, 0.8, arousal=a), culture).size for a in (0.1, 0.4, 0.7, 1.0)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1], sizes


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_higher_dominance_gives_a_heavier_upright_word(emotion):
    low = style_word(feeling(emotion, 0.8, dominance=0.0))
    high = style_word(feeling(emotion, 0.8, dominance=1.0))
    assert high.weight > low.weight
    assert low.italic and not high.italic


def test_valence_moves_the_colour_from_cool_to_warm():
    def warmth(color):
        return int(color[1:3], 16) - int(color[5:7], 16)  # red minus blue

    cold = style_word(feeling("neutral", 0.9, valence=0.0)).color
    warm = style_word(feeling("neutral", 0.9, valence=1.0)).color
    assert warmth(warm) > warmth(cold)


def test_confidence_scales_the_departure_from_neutral():
    neutral = style_table()["neutral"]
    sizes = [style_word(feeling("angry", c)).size for c in (0.2, 0.4, 0.6, 0.8, 1.0)]
    assert sizes == sorted(sizes)
    unsure = style_word(feeling("angry", 0.4))
    sure = style_word(feeling("angry", 0.95))
    # A 40%-confident "angry" is not a shout: no capitals, no display face, no shaking.
    assert unsure.text_transform == "none" and unsure.font_family == neutral.font_family
    assert unsure.animation == "none"
    assert neutral.size < unsure.size < sure.size
    assert sure.text_transform == "uppercase" and sure.font_family == "Bebas Neue" and sure.animation == "shake"


def test_a_word_at_chance_confidence_with_neutral_vad_is_styled_neutral():
    chance = 1 / len(EMOTIONS)
    for emotion in EMOTIONS:
        v, a, d = CATEGORY_VAD["neutral"]
        word = feeling(emotion, chance, valence=v, arousal=a, dominance=d)
        assert style_word(word, "western") == style_table("western")["neutral"], emotion


def test_age_scales_size_and_calms_motion():
    adult = style_table("western", "adult")
    for age in ("child", "senior"):
        other = style_table("western", age)
        for emotion in EMOTIONS:
            assert other[emotion].size > adult[emotion].size
            assert other[emotion].animation_strength <= adult[emotion].animation_strength
            assert other[emotion].weight >= 400  # no hairline strokes for young or old readers


def test_labels_outside_the_preset_table_fall_back_to_the_neutral_preset_with_vad():
    style = style_word(feeling("calm", 0.9), "western")
    assert style.font_family == PRESETS["western"]["neutral"].font_family


def test_unknown_culture_or_age_is_refused():
    with pytest.raises(UsageError, match="culture"):
        style_word(feeling(), "martian")
    with pytest.raises(UsageError, match="age"):
        style_table("western", "toddler")
    with pytest.raises(UsageError, match="culture 'martian'"):
        Style(culture="martian")  # the API's style choice is checked when it is made
    with pytest.raises(UsageError, match="age group 'toddler'"):
        Style(age="toddler")


def test_a_style_reads_its_file_once_and_its_identity_follows_the_bytes(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[angry]\ncolor = "#ff5555"\n', encoding="utf-8")
    style = Style("eastern", style_file=str(path))
    assert style.style_file == path and style.overrides == {"*": {"angry": {"color": "#ff5555"}}}
    before = style.identity()
    path.write_text("not = [toml", encoding="utf-8")
    assert style.overrides == {"*": {"angry": {"color": "#ff5555"}}}  # read once, when first used
    assert style.identity() != before  # outputs styled by the old file are out of date
    with pytest.raises(StyleFileError):
        Style(style_file=path).check()
    assert Style().overrides is None and Style().identity()["style"] is None


def test_every_preset_family_has_a_bundled_font_face():
    bundled = {face.family for face in FONT_FACES}
    used = {style.font_family for table in PRESETS.values() for style in table.values()}
    assert used <= bundled


# ---- style files ------------------------------------------------------------------------------

def write(tmp_path, text):
    path = tmp_path / "styles.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_style_file_overrides_one_culture_or_all(tmp_path):
    overrides = load_style_file(write(tmp_path, """
[western.angry]
color = "#FF0000"
font_family = "Oswald"

[sad]
weight = 500
size = 1.1

[eastern.sad]
size = 0.9
"""))
    western, eastern = style_table("western", overrides=overrides), style_table("eastern", overrides=overrides)
    assert western["angry"].color == "#ff0000" and western["angry"].font_family == "Oswald"
    assert eastern["angry"].color == PRESETS["eastern"]["angry"].color  # only western was changed
    assert western["sad"].weight == 500 and eastern["sad"].weight == 500  # [sad] is for every culture
    assert western["sad"].size == 1.1 and eastern["sad"].size == 0.9  # a culture's own table wins
    assert style_word(feeling("angry", 0.95), "western", overrides=overrides).font_family == "Oswald"


def test_an_override_colour_that_fails_contrast_is_corrected(tmp_path):
    overrides = load_style_file(write(tmp_path, '[angry]\ncolor = "#222222"\n'))
    for culture in CULTURES:
        style = style_table(culture, overrides=overrides)["angry"]
        assert contrast_ratio(style.color, style.background) >= 4.5


@pytest.mark.parametrize("text, named", [
    ('[western.angry]\ncolor = "red"\n', "[western.angry] color"),
    ('[angry]\ncolour = "#ff0000"\n', "colour"),
    ('[western.angry]\nweight = 950\n', "weight"),
    ('[western.angry]\nitalic = "yes"\n', "italic"),
    ('[western.angry]\nanimation = "spin"\n', "animation"),
    ('[western.angry]\nfont_family = "x; background: url(http://e.com)"\n', "font_family"),
    ('[martian.angry]\nsize = 1.2\n', "[martian] is neither a culture"),
    ('[western.bored]\nsize = 1.2\n', "[western.bored]"),
    ('[western.angry\nsize = 1.2\n', "not valid TOML"),
])
def test_a_bad_style_file_names_the_field_in_one_line(tmp_path, text, named):
    with pytest.raises(StyleFileError) as caught:
        load_style_file(write(tmp_path, text))
    message = str(caught.value)
    assert named in message and "\n" not in message
    assert isinstance(caught.value, SentimentogramError)


def test_a_missing_style_file_is_a_clear_error(tmp_path):
    with pytest.raises(StyleFileError, match="does not exist"):
        load_style_file(tmp_path / "nope.toml")
