"""Where a caption may break between two words, and how well: the line-break rules of the Netflix
Timed Text Style Guide and the BBC guidelines as a cost (0 best).

Break after a sentence end first, then after clause punctuation, then before a conjunction or a
preposition; never after an article, a determiner, a possessive, a preposition or "to" (which
would part them from their noun or verb), and rather not after an adjective or inside a name.
English word lists: in other languages only punctuation guides the breaks.
"""

from __future__ import annotations

__all__ = ["SENTENCE", "CLAUSE", "token", "is_sentence_end", "break_cost"]

SENTENCE = 0.0  # after a sentence end
CLAUSE = 1.0  # after a comma, semicolon, colon or dash
BEFORE_CONJUNCTION = 2.0
BEFORE_PREPOSITION = 2.5
PLAIN = 4.0
AFTER_ADJECTIVE = 7.0
INSIDE_NAME = 7.0
NEVER = 12.0  # after an article, determiner, possessive, preposition, "to"…

_CLOSERS = "\"')]}»”’"
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "vs.", "etc.", "e.g.", "i.e.", "a.m.",
                  "p.m.", "jr.", "sr.", "no.", "u.s.", "mt."}
_CONJUNCTIONS = {
    "and", "but", "or", "nor", "so", "yet", "because", "although", "though", "while", "when", "whenever",
    "where", "wherever", "if", "unless", "since", "that", "which", "who", "whom", "whose", "as", "than",
    "until", "till", "whether", "once", "then", "however", "therefore",
}
_PREPOSITIONS = {
    "of", "in", "on", "at", "to", "for", "with", "from", "by", "about", "into", "onto", "over", "under",
    "between", "through", "during", "without", "within", "against", "among", "upon", "across", "behind",
    "beyond", "like", "towards", "toward", "around", "near", "after", "before", "along", "past", "per",
    "off", "out", "up", "down", "via", "despite", "except", "inside", "outside", "above", "below",
}
# Words that belong with the word after them: a break after one parts an article from its noun,
# a preposition from its object, an auxiliary from its verb.
_NO_BREAK_AFTER = {
    "a", "an", "the", "this", "these", "those", "my", "your", "his", "her", "its", "our", "their",
    "some", "any", "no", "every", "each", "either", "neither", "another", "such", "what", "which",
    "whose", "much", "many", "more", "most", "less", "least", "few", "several", "all", "both",
    "to", "very", "too", "quite", "rather", "not", "i", "we", "they", "he", "she",
    "i'm", "i've", "i'll", "i'd", "we're", "you're", "they're", "he's", "she's", "it's", "there's",
    "am", "is", "are", "was", "were", "be", "been", "will", "would", "shall", "should", "can",
    "could", "may", "might", "must", "do", "does", "did", "have", "has", "had", "don't", "doesn't",
    "didn't", "won't", "can't", "couldn't", "wouldn't", "shouldn't", "isn't", "aren't", "wasn't",
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.",
} | (_PREPOSITIONS - {"out", "up", "down", "off", "over", "past", "after", "before", "along", "around",
                      "inside", "outside", "above", "below"})
_ADJECTIVES = {
    "good", "bad", "big", "small", "little", "old", "new", "young", "long", "short", "high", "low",
    "great", "large", "whole", "real", "best", "worst", "better", "worse", "other", "same", "own",
    "first", "last", "next", "only", "early", "late", "hard", "easy", "important", "different",
    "nice", "beautiful", "happy", "sad", "angry", "afraid", "dark", "bright", "black", "white", "red",
    "blue", "green", "true", "false", "entire", "certain", "main", "major", "single", "public",
    "private", "special", "strong", "weak", "full", "empty", "free", "open", "clear", "simple",
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "hundred",
    "thousand", "million", "billion", "dear", "poor", "fine", "huge", "tiny", "wonderful",
}


def token(text: str) -> str:
    """A word as shown: its text without surrounding white space."""
    return text.strip()


def _bare(text: str) -> str:
    return token(text).lower().strip(_CLOSERS + "\"'(“‘[{¿¡")


def is_sentence_end(text: str) -> bool:
    """Whether a word ends a sentence (".", "?", "!", "…"; abbreviations like "Mr." do not)."""
    word = token(text).rstrip(_CLOSERS)
    if not word or word[-1] not in ".?!…。？！":
        return False
    if word[-1] == "." and word.lower().lstrip("\"'(“‘") in _ABBREVIATIONS:
        return False
    return True


def break_cost(before: str, after: str) -> float:
    """The cost of breaking a caption (a cue or a line) between the words ``before`` and ``after``."""
    word = token(before).rstrip(_CLOSERS)
    if is_sentence_end(before):
        return SENTENCE
    if word.endswith(("-", "–", "—")) and token(after)[:1].isupper():
        return SENTENCE  # a sentence broken off ("by the- Kids are…")
    if word and (word[-1] in ",;:，；：" or word.endswith(("-", "–", "—"))):
        return CLAUSE
    prev, nxt = _bare(before).rstrip(".,;:!?…"), _bare(after)
    if prev in _NO_BREAK_AFTER or word.lower() in _ABBREVIATIONS:
        return NEVER
    if prev.replace(".", "").isdigit():
        return AFTER_ADJECTIVE  # "5 | dollars"
    if prev in _CONJUNCTIONS - {"then", "however", "therefore", "once"}:
        return AFTER_ADJECTIVE  # "and | the grass": the conjunction leads its clause
    if nxt in _CONJUNCTIONS:
        return BEFORE_CONJUNCTION
    if nxt in _PREPOSITIONS:
        return BEFORE_PREPOSITION
    if prev in _ADJECTIVES:
        return AFTER_ADJECTIVE
    raw_prev, raw_next = token(before).strip(_CLOSERS), token(after)
    if raw_prev[:1].isupper() and raw_next[:1].isupper() and raw_prev.lower() != "i":
        return INSIDE_NAME  # "New | York", "Doctor | Who"
    return PLAIN
