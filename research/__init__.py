"""Research code kept out of the wheel: comparisons and reports that need the shared corpora and
the test extras (scikit-learn, matplotlib). Run from a checkout: ``python scripts/adaptation_report.py``."""
