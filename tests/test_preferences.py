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
from sentimentogram_cli.preferences.adaptive import information_gain, next_pair, replay
from sentimentogram_cli.preferences.personal import (Shrinkage, choose_shrinkage, fit_one,
                                                    prototype_map, rows_of)
from sentimentogram_cli.output.survey import PROBES, ask, candidate_pairs, render_survey
from sentimentogram_cli.colour import contrast_ratio
from sentimentogram_cli.typography import MIN_CONTRAST, PRESETS, style_table
from conftest import SHARED_DATA  # the project's data folder, in one place

SEED = SHARED_DATA / "preferences/seed_user_study"
needs_seed = pytest.mark.skipif(not SEED.is_dir(), reason="needs ../shared/data/preferences/seed_user_study")
SERIF, ITALIC, SIZE = FEATURES.index("serif"), FEATURES.index("italic"), FEATURES.index("size")


def profile_with(**tastes) -> Profile:
    """A personal profile whose taste column (context "bias") holds ``tastes`` per feature."""
    weights = np.zeros((len(FEATURES), len(CONTEXT)))
    for name, value in tastes.items():
        weights[FEATURES.index(name), CONTEXT.index("bias")] = value
    return Profile("personal", weights)


def simulated_person(taste: dict, n: int = 12, seed: int = 0) -> AnswerSet:
    """``n`` survey pairs (a random draw) answered by someone who always picks the side their
    ``taste`` scores higher."""
    vector = np.array([taste.get(f, 0.0) for f in FEATURES])
    comparisons = []
    pairs = candidate_pairs(seed)
    for i in np.random.default_rng(seed).permutation(len(pairs))[:n]:
        pair = pairs[i]
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
    """The render pipeline's own output step (restyle, no models): the page's legend for each
    emotion is the style the profile predicts, and differs from the preset where it should."""
    from sentimentogram_cli.jobs import OutputOptions, restyle
    from sentimentogram_cli.style import Style as PageStyle

    document = tmp_path / "talk.json"
    document.write_text(make_analysis(["We", "did", "it", "oh", "no", "well"], source="talk.mp4").to_json())
    profile_path = tmp_path / "profile.json"
    profile = fit_personal([simulated_person({"serif": 1.0, "italic": 1.0}, 24)], population_prior(), "shipped")
    profile.save(profile_path)
    restyle(document, style=PageStyle(profile=profile_path), output=OutputOptions(out=tmp_path / "page.html"))
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
    assert "how sure: 12 answers; held-out accuracy estimate (leave one answer out)" in output and "n=12" in output
    code, output = run_cli(["prefs", "evaluate", "--data", str(folder), "--markdown"])
    assert code == 0 and "| culture/age rule |" in output and "50.0% (expected) n=72" in output
    assert "| answers | study's order | adaptive order |" in output and "| 12 |" in output


def survey_answers(person: AnswerSet) -> dict:
    return {"format": "sentimentogram-survey-answers", "version": 1, "user": "me",
            "attributes": {"age_group": "young", "culture": None},
            "comparisons": [{"emotion": c.emotion, "a": c.style_a.to_dict(), "b": c.style_b.to_dict(),
                             "winner": "a" if c.a_wins else "b", "response_time_ms": 900}
                            for c in person.comparisons]}


# ---- the survey page -------------------------------------------------------------------------

def test_survey_pairs_vary_one_or_two_features_and_cover_every_probe():
    pairs = candidate_pairs()
    assert len({p.probe for p in pairs}) == len(PROBES)
    for pair in pairs:
        changed = {k for k, v in pair.a.to_dict().items() if pair.b.to_dict()[k] != v}
        assert 1 <= len(changed) <= 4, (pair.probe, changed)  # motion is two fields, modern four
        moved = np.flatnonzero(np.abs(style_features(pair.a) - style_features(pair.b)) > 1e-9)
        assert 1 <= len(moved) <= 4


def test_survey_page_is_self_contained():
    html = render_survey(12, seed=0)
    assert "http://" not in html and "https://" not in html and "default-src 'none'" in html
    start = html.index('id="survey-data">') + len('id="survey-data">')
    data = json.loads(html[start:html.index("</script>", start)])
    assert data["n_pairs"] == 12 and len(data["pairs"]) == len(candidate_pairs()) and "@font-face" in html
    assert data["model"]["context"] == list(CONTEXT) and np.array(data["model"]["taste_cov"]).shape == (8, 8)


# ---- the personal model, nested selection and the adaptive survey ----------------------------

def test_the_answer_space_fit_is_the_weight_space_map_fit():
    """The kernel fit equals the MAP fit over all 120 weights with the same prior (torch, Newton)."""
    person = simulated_person({"serif": 1.0, "size": -0.5}, 16)
    rows, data = rows_of(person), design(person)
    mean = np.random.default_rng(1).normal(scale=0.1, size=(len(FEATURES), len(CONTEXT)))
    precision = np.full((len(FEATURES), len(CONTEXT)), 20.0)
    precision[:, CONTEXT.index("bias")] = 2.0
    fit = fit_one(rows, rows.offset(mean), Shrinkage(style=float("inf"), feature=2.0, context=20.0))
    assert np.allclose(mean + fit.weights(), fit_map(data, mean.ravel(), precision.ravel()).reshape(mean.shape),
                       atol=1e-6)


def test_the_style_part_is_one_utility_per_named_style():
    centred = np.array([style_features(s) for s in SEED_STYLES])
    assert np.allclose((centred - centred.mean(axis=0)) @ prototype_map(), np.eye(6) - 1 / 6)
    bold = SEED_STYLE_NAMES.index("Bold")  # someone who picks Bold whenever it is shown, at random otherwise
    rng = np.random.default_rng(0)
    comparisons = []
    for a, b in rng.integers(0, 6, size=(60, 2)):
        if a != b:
            won = a == bold or (b != bold and rng.random() < 0.5)
            comparisons.append(Comparison("neutral", SEED_STYLES[a], SEED_STYLES[b], bool(won), "", ""))
    rows = rows_of(AnswerSet("bold", UserAttributes(), comparisons))
    fit = fit_one(rows, np.zeros(len(rows)), Shrinkage(style=1.0, feature=float("inf"), context=float("inf")))
    utility = np.array([style_features(s) for s in SEED_STYLES]) @ fit.weights()[:, CONTEXT.index("bias")]
    assert int(np.argmax(utility)) == bold


@needs_seed
def test_nested_selection_never_sees_the_predicted_answers(tmp_path):
    """Flip the answers a person's predicted half holds: what was predicted for them must not move
    (the population, the shrinkage and the personal fit all come from elsewhere), while the same
    flip does move what is predicted from that half."""
    from sentimentogram_cli.preferences.ranker import split_halves

    people = load_answers([seed_subset(tmp_path, 4)])
    before = evaluate(people, seed=0)
    user = people[0].user
    first, second = split_halves(len(people[0].comparisons), 0, user)
    for i in second:
        people[0].comparisons[i] = replace(people[0].comparisons[i], a_wins=not people[0].comparisons[i].a_wins)
    after = evaluate(people, seed=0)
    assert np.array_equal(before.personalised[user][second], after.personalised[user][second])
    assert not np.array_equal(before.personalised[user][first], after.personalised[user][first])


def test_choose_shrinkage_uses_only_the_people_it_is_given():
    taste = dict(zip(FEATURES, (1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0)))  # every pair tells
    people = [simulated_person(taste, 12, seed=s) for s in (1, 2, 3)]
    entries = [(rows_of(p), np.zeros((len(FEATURES), len(CONTEXT))), (np.arange(6), np.arange(6, 12))) for p in people]
    grid = (Shrinkage(style=float("inf"), feature=float("inf"), context=float("inf")),
            Shrinkage(style=float("inf"), feature=1.0, context=float("inf")))
    selection = choose_shrinkage(entries, grid)
    assert selection.best() == grid[1]  # a consistent taste: letting a person move predicts better
    assert selection.correct[1] > selection.correct[0] == 3 * 12 / 2  # no movement: every pair a coin flip


def test_information_gain_prefers_open_questions():
    assert information_gain(0.0, 0.0) == pytest.approx(0.0, abs=1e-9)
    assert information_gain(0.0, 4.0) > information_gain(0.0, 1.0) > information_gain(3.0, 1.0) > 0
    assert information_gain(2.0, 1.0) == pytest.approx(information_gain(-2.0, 1.0))


def test_the_next_pair_is_the_one_the_answers_leave_most_open():
    """Before any answer the larger change is the more open question; after answers about it, the
    next question is about something else: a known change is worth less than an unexplored one."""
    pairs = [p for p in candidate_pairs() if p.emotion == "neutral" and p.probe in ("serif", "bold")]
    person = AnswerSet("me", UserAttributes(), [Comparison(p.emotion, p.a, p.b, True, "a", "b") for p in pairs])
    rows, shrinkage = rows_of(person), Shrinkage(style=float("inf"), feature=1.0, context=float("inf"))
    bold = [i for i, p in enumerate(pairs) if p.probe == "bold"][0]
    first = next_pair(fit_one(rows.take([]), np.zeros(0), shrinkage), rows, np.zeros(len(rows)), range(len(pairs)))
    assert first == bold  # larger and heavier: two features move, serif one
    fit = fit_one(rows.take([bold] * 8), np.zeros(8), shrinkage)
    assert pairs[next_pair(fit, rows, np.zeros(len(rows)), range(len(pairs)))].probe == "serif"
    empty = fit_one(rows.take([]), np.zeros(0), shrinkage)  # nothing known: the larger change first
    gains = information_gain(np.zeros(len(rows)), empty.variance(rows)[0])
    assert next_pair(empty, rows, np.zeros(len(rows)), range(len(pairs))) == int(np.argmax(gains))


def test_the_survey_rule_asks_each_pair_once_and_follows_the_answers():
    pairs = candidate_pairs()
    likes = lambda taste: (lambda p: (style_features(p.a) - style_features(p.b)) @ taste >= 0)  # noqa: E731
    serif = ask(pairs, likes(np.eye(len(FEATURES))[SERIF] * 2), 10)
    size = ask(pairs, likes(np.eye(len(FEATURES))[SIZE] * 2), 10)
    assert len({i for i, _ in serif}) == 10 and serif[0][0] == size[0][0]  # the first pair knows no answer
    assert [i for i, _ in serif] != [i for i, _ in size]  # then the answers steer it


def test_replay_orders_and_never_fits_the_scored_answers():
    person = simulated_person({"size": 1.0, "italic": -1.0}, 16)
    rows, offset, s = rows_of(person), np.zeros(16), Shrinkage(style=float("inf"), feature=1.0, context=float("inf"))
    pool, test = list(range(10)), list(range(10, 16))
    fixed, adaptive = replay(rows, offset, s, pool, test, "fixed"), replay(rows, offset, s, pool, test, "adaptive")
    assert len(fixed) == len(adaptive) == 11 and fixed[0] == adaptive[0] and fixed[-1] == adaptive[-1]
    flipped = rows.take(list(range(16)))
    flipped.y = rows.y.copy()
    flipped.y[test] = 1 - flipped.y[test]
    again = replay(flipped, offset, s, pool, test, "adaptive")
    assert [a.correct + b.correct for a, b in zip(adaptive, again)] == [float(len(test))] * 11
    with pytest.raises(ValueError, match="order"):
        replay(rows, offset, s, pool, test, "random")

