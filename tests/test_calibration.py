"""Temperature scaling and expected calibration error on synthetic predictions with known answers."""

import numpy as np

from sentimentogram_cli.training.calibration import (calibrated_ece_floor, expected_calibration_error, fit_temperature,
                                                      softmax)


def _overconfident(n=4000, classes=5, true_temperature=2.5, seed=0):
    """Labels drawn from softmax(z / T): the raw logits z are over-confident by a factor T."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, classes))
    p = softmax(logits, true_temperature)
    y = np.array([rng.choice(classes, p=row) for row in p])
    return logits, y


def test_fit_recovers_the_temperature_and_lowers_ece():
    logits, y = _overconfident()
    t = fit_temperature(logits, y)
    assert abs(t - 2.5) < 0.25
    before = expected_calibration_error(softmax(logits), y)
    after = expected_calibration_error(softmax(logits, t), y)
    assert before > 0.1 and after < 0.03
    # Scaling never changes a prediction.
    assert (softmax(logits, t).argmax(1) == logits.argmax(1)).all()


def test_ece_of_perfect_and_of_always_wrong_predictions():
    y = np.array([0, 1, 2, 0])
    sure_right = np.eye(3)[y]
    assert expected_calibration_error(sure_right, y) == 0.0
    sure_wrong = np.eye(3)[(y + 1) % 3]
    assert expected_calibration_error(sure_wrong, y) == 1.0


def test_the_ece_floor_shrinks_with_the_clips_and_sits_under_a_miscalibrated_figure():
    logits, y = _overconfident(n=4000)
    calibrated = softmax(logits, 2.5)  # the labels were drawn from these: calibrated by construction
    small, large = calibrated_ece_floor(calibrated[:400]), calibrated_ece_floor(calibrated)
    assert 0.02 < small < 0.09 and large < small / 2  # ~1/sqrt(n)
    assert abs(expected_calibration_error(calibrated, y) - large) < 0.02
    assert expected_calibration_error(softmax(logits), y) > 5 * large  # over-confident by 2.5: far above
