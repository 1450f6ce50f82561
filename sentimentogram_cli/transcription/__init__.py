"""The parts of speech recognition behind ``transcribe.py``: decoding settings and passes
(``decoding``), where the speech is (``speech``), and word-timestamp repair (``timestamps``)."""
