"""The parts of speech recognition behind ``transcribe.py``: decoding settings and the second
pass over skipped speech (``decoding``), where the speech is (``speech``), runaway-decode guards
(``guards``), language detection on the speech (``language``) and word-timestamp repair
(``timestamps``). Nothing here imports ``transcribe``: no cycle."""
