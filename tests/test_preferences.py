"""Learned style preferences: features, the ranker, profiles, page styles, evaluation, commands."""

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sentimentogram_cli.constants import CULTURES, EMOTIONS
from sentimentogram_cli.errors import ExitStatus
from sentimentogram_cli.preferences import (
    SEED_STYLE_NAMES, SEED_STYLES, AnswerSet, AnswersError, Comparison, Profile, ProfileError,
    UserAttributes, choose_style, evaluate, fit_personal, load_answers, load_profile,
    page_overrides, population_prior, style_features,
)
from sentimentogram_cli.preferences.candidates import candidate_options
from sentimentogram_cli.preferences.ranker import design, fit_map, predict
from sentimentogram_cli.preferences.space import CONTEXT, FEATURES
from sentimentogram_cli.preferences.survey import PROBES, choose_pairs, render_survey
from sentimentogram_cli.colour import contrast_ratio
from sentimentogram_cli.typography import MIN_CONTRAST, PRESETS, style_table

SEED = Path(__file__).resolve().parents[2] / "shared/data/preferences/seed_user_study"
needs_seed = pytest.mark.skipif(not SEED.is_dir(), reason="needs ../shared/data/preferences/seed_user_study")
SERIF, ITALIC, SIZE = FEATURES.index("serif"), FEATURES.index("italic"), FEATURES.index("size")


def profile_with(**tastes) -> Profile:
    """A personal profile whose taste column (context "bias") holds ``tastes`` per feature."""
    weights = np.zeros((len(FEATURES), len(CONTEXT)))
    for name, value in tastes.items():
        weights[FEATURES.index(name), CONTEXT.index("bias")] = value
    return Profile("personal", weights)


def simulated_person(taste: dict, n: int = 12, seed: int = 0) -> AnswerSet:
    """Survey pairs answered by someone who always picks the side their ``taste`` scores higher."""
    vector = np.array([taste.get(f, 0.0) for f in FEATURES])
    comparisons = []
    for pair in choose_pairs(n, seed):
        a_wins = bool((style_features(pair.a) - style_features(pair.b)) @ vector >= 0)
        comparisons.append(Comparison(pair.emotion, pair.a, pair.b, a_wins, "a", "b", 1200))
    return AnswerSet("sim", UserAttributes(), comparisons)


def seed_subset(tmp_path: Path, n: int) -> Path:
    folder = tmp_path / "seed"
    folder.mkdir()
    for profile in sorted(SEED.glob("*_profile.json"))[:n]:
        shutil.copy(profile, folder)
        shutil.copy(profile.with_name(profile.name.replace("_profile.json", "_comparisons.jsonl")), folder)
    return folder


# ---- features and candidates ----------------------------------------------------------------

def test_seed_styles_are_distinct_points_named_by_what_makes_them():
    points = {name: style_features(s) for name, s in zip(SEED_STYLE_NAMES, SEED_STYLES)}
    assert len({tuple(np.round(p, 6)) for p in points.values()}) == 6
    f = dict(zip(FEATURES, points["Bold"]))
    assert f["size"] > 0 and f["emphasis"] > 0
    classic = dict(zip(FEATURES, points["Classic"]))
    assert classic["serif"] == 1 and classic["italic"] == 1
    assert dict(zip(FEATURES, points["Animated"]))["motion"] > 0
    assert dict(zip(FEATURES, points["Colorful"]))["colour"] > dict(zip(FEATURES, points["Subtle"]))["colour"]
    assert dict(zip(FEATURES, points["Subtle"]))["contrast"] < dict(zip(FEATURES, points["Bold"]))["contrast"]


@pytest.mark.parametrize("culture", CULTURES)
def test_candidates_start_at_the_preset_and_keep_wcag_contrast(culture):
    for emotion in EMOTIONS:
        preset = PRESETS[culture][emotion]
        options = candidate_options(culture, emotion)
        for axis, values in options.items():
            first = values[0].changes
            assert all(getattr(preset, k) == v or k == "color" for k, v in first.items()), (axis, first)
        for option in options["colour"]:
            assert contrast_ratio(option.changes["color"], preset.background) >= MIN_CONTRAST[culture] - 1e-9
        if culture == "accessible":  # one hyperlegible family and no motion, whatever the taste
            assert len(options["font"]) == 1 and len(options["motion"]) == 1


def test_a_profile_without_tastes_keeps_every_preset():
    profile = profile_with()
    for culture in CULTURES:
        for emotion in EMOTIONS:
            choice = choose_style(profile, culture, emotion)
            assert choice.style == PRESETS[culture][emotion] and not choice.changes


def test_a_taste_moves_the_matching_axis_only():
    choice = choose_style(profile_with(serif=2.0), "western", "happy")
    assert choice.style.font_family == "Merriweather"
    assert [c.axis for c in choice.changes] == ["font"]
    larger = choose_style(profile_with(size=3.0), "western", "sad")
    assert larger.style.size > PRESETS["western"]["sad"].size and [c.axis for c in larger.changes] == ["size"]


# ---- the ranker ------------------------------------------------------------------------------

def test_swapping_the_sides_flips_the_probability():
    person = simulated_person({"size": 1.0})
    swapped = AnswerSet("sim", person.attributes, [replace(c, style_a=c.style_b, style_b=c.style_a, a_wins=not c.a_wins)
                                                    for c in person.comparisons])
    w = np.random.default_rng(0).normal(size=len(FEATURES) * len(CONTEXT))
    assert np.allclose(predict(design(person), w), 1 - predict(design(swapped), w))


def test_the_ranker_learns_a_consistent_taste_and_predicts_new_pairs():
    taste = {"size": 1.0, "motion": -1.0, "serif": 0.5}
    train, test = simulated_person(taste, 40, seed=1), simulated_person(taste, 40, seed=2)
    w = fit_map(design(train), None, 0.3)
    y = design(test).y
    assert np.mean((predict(design(test), w) > 0.5) == (y > 0.5)) >= 0.8


def test_a_personal_fit_is_pulled_toward_the_prior_and_moves_with_more_answers():
    prior = population_prior()
    few = fit_personal([simulated_person({"serif": 1.0, "italic": 1.0}, 4)], prior, "shipped")
    many = fit_personal([simulated_person({"serif": 1.0, "italic": 1.0}, 30)], prior, "shipped")
    bias = CONTEXT.index("bias")
    assert 0 < few.weights[SERIF, bias] < many.weights[SERIF, bias]
    assert few.kind == "personal" and few.n_comparisons == 4 and few.evaluation["n"] == 4


# ---- profiles and the page -------------------------------------------------------------------

def test_profile_round_trip(tmp_path):
    profile = fit_personal([simulated_person({"size": 1.0})], population_prior(), "shipped")
    profile.save(tmp_path / "p.json")
    again = load_profile(tmp_path / "p.json")
    assert np.allclose(again.weights, profile.weights, atol=1e-6) and again.kind == "personal"
    assert json.loads((tmp_path / "p.json").read_text())["version"] == 1


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "not valid JSON"),
    ('{"format": "something else"}', "not a preference profile"),
    ('{"format": "sentimentogram-preference-profile", "version": 99}', "newer"),
    ('{"format": "sentimentogram-preference-profile", "version": 1, "kind": "personal", "features": ["size"]}',
     "other style or context features"),
])
def test_bad_profiles_are_one_typed_line(tmp_path, run_cli, content, message):
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)
    code, output = run_cli(["prefs", "show", str(path)])
    assert code == ExitStatus.USAGE and message in output and len(output.strip().splitlines()) == 1


def test_profile_beats_presets_and_a_style_file_beats_the_profile(tmp_path):
    profile_path = tmp_path / "profile.json"
    profile_with(serif=2.0, italic=2.0).save(profile_path)
    learned = style_table("western", "adult", page_overrides(None, profile_path))["sad"]
    assert learned.font_family == "Merriweather"
    style_file = tmp_path / "styles.toml"
    style_file.write_text('[happy]\nfont_family = "Oswald"\n')
    both = style_table("western", "adult", page_overrides(style_file, profile_path))
    assert both["happy"].font_family == "Oswald"  # the hand-written file wins where it speaks
    assert both["happy"].italic and both["fear"].font_family == "Merriweather"  # the profile elsewhere


def test_restyled_page_shows_the_profile_choice(tmp_path, make_analysis):
    """The render pipeline's own output step (restyle_file, no models): the page's legend for each
    emotion is the style the profile predicts, and differs from the preset where it should."""
    from sentimentogram_cli.pipeline import RenderOptions, restyle_file

    document = tmp_path / "talk.json"
    document.write_text(make_analysis(["We", "did", "it", "oh", "no", "well"], source="talk.mp4").to_json())
    profile_path = tmp_path / "profile.json"
    profile = fit_personal([simulated_person({"serif": 1.0, "italic": 1.0}, 24)], population_prior(), "shipped")
    profile.save(profile_path)
    restyle_file(document, RenderOptions(profile=profile_path, out=tmp_path / "page.html"))
    legend = page_legend(tmp_path / "page.html")["western/adult"]
    for emotion in ("happy", "angry"):
        predicted = choose_style(profile, "western", emotion).style
        assert predicted.font_family == "Merriweather" != PRESETS["western"][emotion].font_family
        assert "Merriweather" in legend[emotion][2] and legend[emotion][5] == 1  # font stack, italic


def page_legend(page: Path) -> dict:
    html = page.read_text()
    start = html.index('id="page-data">') + len('id="page-data">')
    return json.loads(html[start:html.index("</script>", start)])["legend"]


def test_render_rejects_a_bad_profile_before_any_model(tmp_path, run_cli):
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg to make a clip")
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=64x48:r=10:d=1", "-f", "lavfi",
                    "-i", "anullsrc=r=16000:cl=mono:d=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-shortest", str(clip)], check=True)
    (tmp_path / "bad.json").write_text('{"format": "sentimentogram-preference-profile", "version": 0}')
    code, output = run_cli(["render", str(clip), "--profile", str(tmp_path / "bad.json"), "--no-cache"])
    assert code == ExitStatus.USAGE and "too old" in output
    assert not (tmp_path / "clip.html").exists()


# ---- answers, fitting and evaluation ---------------------------------------------------------

@needs_seed
def test_seed_study_loads_as_twenty_people():
    people = load_answers([SEED])
    assert len(people) == 20 and sum(len(p.comparisons) for p in people) == 480
    assert {c.emotion for p in people for c in p.comparisons} <= set(EMOTIONS)


def test_answers_errors_are_typed(tmp_path):
    (tmp_path / "a.json").write_text('{"format": "sentimentogram-survey-answers", "version": 1, "comparisons": '
                                     '[{"emotion": "happy", "winner": "a", "a": {"color": "red"}, "b": {}}]}')
    with pytest.raises(AnswersError, match="color"):
        load_answers([tmp_path / "a.json"])


@needs_seed
def test_evaluation_is_reproducible_and_scores_every_comparison(tmp_path):
    people = load_answers([seed_subset(tmp_path, 4)])
    first, second = evaluate(people, seed=3), evaluate(people, seed=3)
    rows = {r.method: r for r in first.rows}
    assert [(r.louo, r.within) for r in first.rows] == [(r.louo, r.within) for r in second.rows]
    assert rows["random"].louo.accuracy == 0.5 and rows["random"].louo.n == 96
    assert rows["learned ranker (personalised)"].louo is None and rows["learned ranker (personalised)"].within.n == 96


@needs_seed
def test_fit_and_evaluate_commands(tmp_path, run_cli):
    folder = seed_subset(tmp_path, 3)
    code, output = run_cli(["prefs", "fit", str(folder), "--out", str(tmp_path / "one.json")])
    assert code == ExitStatus.USAGE and "--population" in output
    code, output = run_cli(["prefs", "fit", str(folder), "--population", "--out", str(tmp_path / "prior.json")])
    assert code == 0 and "leave-one-person-out" in output and load_profile(tmp_path / "prior.json").kind == "population"
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(survey_answers(simulated_person({"size": 1.0}))))
    code, output = run_cli(["prefs", "fit", str(answers), "--prior", str(tmp_path / "prior.json"),
                            "--out", str(tmp_path / "me.json")])
    assert code == 0 and "cross-validated" in output and "n=12" in output
    code, output = run_cli(["prefs", "show", str(tmp_path / "me.json")])
    assert code == 0 and "chosen styles" in output
    code, output = run_cli(["prefs", "evaluate", "--data", str(folder), "--markdown"])
    assert code == 0 and "| culture/age rule |" in output and "50.0% (expected) n=72" in output


def survey_answers(person: AnswerSet) -> dict:
    return {"format": "sentimentogram-survey-answers", "version": 1, "user": "me",
            "attributes": {"age_group": "young", "culture": None},
            "comparisons": [{"emotion": c.emotion, "a": c.style_a.to_dict(), "b": c.style_b.to_dict(),
                             "winner": "a" if c.a_wins else "b", "response_time_ms": 900}
                            for c in person.comparisons]}


# ---- the survey page -------------------------------------------------------------------------

def test_survey_pairs_vary_one_or_two_features_and_cover_every_probe():
    pairs = choose_pairs(len(PROBES))
    assert len({p.probe for p in pairs}) == len(PROBES)
    for pair in pairs:
        changed = {k for k, v in pair.a.to_dict().items() if pair.b.to_dict()[k] != v}
        assert 1 <= len(changed) <= 4, (pair.probe, changed)  # motion is two fields, modern four
        moved = np.flatnonzero(np.abs(style_features(pair.a) - style_features(pair.b)) > 1e-9)
        assert 1 <= len(moved) <= 4


def test_survey_page_is_self_contained():
    html = render_survey(12, seed=0)
    assert "http://" not in html and "https://" not in html and "default-src 'none'" in html
    assert html.count('"pair":') == 12 and "@font-face" in html
