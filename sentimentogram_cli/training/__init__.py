"""Training and evaluation of the emotion head, from the corpora in ../shared/data."""
