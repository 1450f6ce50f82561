"""Work started on a thread now, its result taken later (``Ahead``).

Why: while the recogniser decodes (CTranslate2, which leaves the interpreter free and, on a CPU,
a core idle most of the time), the emotion stage's encoders load and its frames of the recording,
which do not depend on the words, are made beside it (issue 25). A failure on the thread is not
raised there: the stage that needs the result does the work again itself and says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Ahead"]


class Ahead:
    """``work()`` run on a daemon thread named ``name``; ``result()`` waits for it and gives
    what it returned, or None when it raised."""

    def __init__(self, work: Callable[[], Any], name: str):
        self._result: Any = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._result = work()
        except Exception:  # noqa: BLE001 (the stage that needs the result redoes the work and raises)
            pass

    def result(self, timeout: float | None = None) -> Any:
        self._thread.join(timeout)
        return self._result

    def done(self) -> bool:
        return not self._thread.is_alive()
