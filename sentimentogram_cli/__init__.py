"""sentimentogram: emotion-styled, word-synchronized subtitles as one HTML page."""

__version__ = "0.1.0"

__all__ = ["__version__"]
