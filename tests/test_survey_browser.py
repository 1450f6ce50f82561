"""The survey in headless Chromium: answered like a person who likes serif italics, the page
choosing each next pair itself (the same pairs, in the same order, as the Python rule), saved
through the browser's download, fitted with `prefs fit`, and the rendered page styled as predicted."""

import json

import numpy as np
import pytest

from sentimentogram_cli.preferences import UserAttributes, choose_style, load_profile, style_features
from sentimentogram_cli.output.survey import ask, candidate_pairs
from sentimentogram_cli.preferences.space import FEATURES
from sentimentogram_cli.typography import PRESETS
from sentimentogram_cli.typography import WordStyle

pytestmark = pytest.mark.browser

TASTE = np.array([{"serif": 1.0, "italic": 1.0}.get(f, 0.0) for f in FEATURES])


def test_survey_answers_fit_and_restyle_the_page(browser, tmp_path, run_cli, make_analysis):
    survey = tmp_path / "survey.html"
    code, _ = run_cli(["prefs", "survey", "--out", str(survey), "--pairs", "12"])
    assert code == 0 and survey.is_file()
    # The page's real Content-Security-Policy stays on: the download must work under it.
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors, requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(survey.as_uri())
    data = json.loads(page.locator("#survey-data").text_content())

    page.select_option("#age_group", "senior")
    page.select_option("#culture", "eastern")
    page.check("#dyslexia")
    page.click("#start")
    chosen, shown = [], []
    for i in range(12):
        assert page.locator("#counter").text_content() == f"Pair {i + 1} of 12"
        pair = data["pairs"][int(page.locator("#pairs").get_attribute("data-pair"))]
        shown.append(pair["pair"])
        assert page.locator("#emotion").text_content() == pair["emotion"]
        line = page.locator("#choice-a .line")
        assert line.text_content() == pair["line"]
        assert pair["a"]["font_family"] in line.get_attribute("style")  # drawn in the style it records
        score = (style_features(WordStyle(**pair["a"])) - style_features(WordStyle(**pair["b"]))) @ TASTE
        side = "a" if score >= 0 else "b"
        chosen.append(side)
        if i == 3:
            page.keyboard.press("1" if side == "a" else "2")  # the keys answer too
        else:
            page.click(f"#choice-{side}")
    assert page.locator("#done").is_visible() and not page.locator("#pairs").is_visible()
    with page.expect_download() as download:
        page.click("#save")
    answers_path = tmp_path / "answers.json"
    download.value.save_as(answers_path)
    context.close()
    assert not errors, errors
    assert all(url.startswith(("file:", "blob:", "data:")) for url in requests), requests

    # The page's own choice of pairs is the Python rule's, for the same person answering the same way.
    who = UserAttributes(age_group="senior", culture="eastern", low_vision=False, color_blind=False, dyslexia=True)
    pairs = candidate_pairs(data["seed"])
    expected = ask(pairs, lambda p: (style_features(p.a) - style_features(p.b)) @ TASTE >= 0, 12, who)
    assert shown == [i for i, _ in expected]
    assert len(set(shown)) == 12

    answers = json.loads(answers_path.read_text())
    assert answers["format"] == "sentimentogram-survey-answers" and answers["version"] == 1
    assert answers["attributes"] == {"age_group": "senior", "culture": "eastern", "low_vision": False,
                                     "color_blind": False, "dyslexia": True}
    assert [c["winner"] for c in answers["comparisons"]] == chosen
    assert all(isinstance(c["response_time_ms"], int) and c["response_time_ms"] >= 0 for c in answers["comparisons"])

    profile_path = tmp_path / "profile.json"
    code, output = run_cli(["prefs", "fit", str(answers_path), "--out", str(profile_path)])
    assert code == 0 and "n=12" in output, output
    profile = load_profile(profile_path)
    assert profile.attributes.age_group == "senior" and profile.attributes.dyslexia is True

    # Render through the pipeline's output step from an analysis document (no models needed).
    from sentimentogram_cli.jobs import OutputOptions, restyle
    from sentimentogram_cli.style import Style as PageStyle

    document = tmp_path / "talk.json"
    document.write_text(make_analysis(["so", "happy", "today"], emotions=["happy"], source="talk.mp4").to_json())
    restyle(document, style=PageStyle(profile=profile_path), output=OutputOptions(out=tmp_path / "styled.html"))
    restyle(document, output=OutputOptions(out=tmp_path / "plain.html"))
    styled, plain = (legend(tmp_path / f"{name}.html")["western/adult"]["happy"] for name in ("styled", "plain"))
    predicted = choose_style(profile, "western", "happy").style
    assert predicted.font_family == "Merriweather" != PRESETS["western"]["happy"].font_family
    assert "Merriweather" in styled[2] and "Fredoka" in plain[2]  # the font stack column


def legend(page_path):
    html = page_path.read_text()
    start = html.index('id="page-data">') + len('id="page-data">')
    return json.loads(html[start:html.index("</script>", start)])["legend"]
