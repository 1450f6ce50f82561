"""Learned style preferences: the survey's answers -> a pairwise ranker -> a profile -> page styles.

The paper's own study found culture/age rules no better than chance at predicting which subtitle
style a person prefers; this package learns it instead, from a few of the person's own choices,
pulled toward a population prior learned from everyone's.
"""

from .data import ANSWERS_FORMAT, ANSWERS_VERSION, AnswerSet, AnswersError, Comparison, load_answers
from .evaluate import EvaluationReport, EvaluationRow, evaluate
from .fit import Score, fit_personal, fit_population
from .profile import (PROFILE_FORMAT, PROFILE_VERSION, Choice, Profile, ProfileError, choose_style,
                      load_profile, merge_overrides, page_overrides, population_prior, profile_overrides)
from .space import FEATURES, CONTEXT, SEED_STYLES, SEED_STYLE_NAMES, UserAttributes, style_features

__all__ = [
    "ANSWERS_FORMAT", "ANSWERS_VERSION", "AnswerSet", "AnswersError", "Comparison", "load_answers",
    "EvaluationReport", "EvaluationRow", "evaluate",
    "Score", "fit_personal", "fit_population",
    "PROFILE_FORMAT", "PROFILE_VERSION", "Choice", "Profile", "ProfileError", "choose_style", "load_profile",
    "merge_overrides", "page_overrides", "population_prior", "profile_overrides",
    "FEATURES", "CONTEXT", "SEED_STYLES", "SEED_STYLE_NAMES", "UserAttributes", "style_features",
]
