"""The voice embedding speaker turns are clustered on: GE2E (``encoder``, through the shipped
projection ``turns.project``) and CAM++ (``campplus``) side by side.

Why both: on the validation recordings of benchmarks/speakers.py (six draws: 120 monologues, 72
two- and 24 three-speaker dialogues; the threshold chosen for each by the benchmark's rule),
CAM++ alone counted 185 recordings right, GE2E alone 171, and the two together 187 with CAM++ at
``CAMPLUS_WEIGHT`` of the cosine (0.25 and 0.5 gave 174 and 182). Each is a unit vector scaled by
the square root of its weight, so the concatenation is a unit vector whose cosine with another is
the weighted mean of the two encoders' cosines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
from threadpoolctl import threadpool_limits

from ..devices import torch_threads
from .campplus import CAMPLUS_ID, CAMPLUS_SIZE, CamPlusEncoder
from .encoder import ENCODER_ID, EMBEDDING_SIZE, SpeakerEncoder
from .turns import project

__all__ = ["CAMPLUS_WEIGHT", "VOICE_ENCODER_ID", "VoiceEncoder"]

CAMPLUS_WEIGHT = 0.75  # CAM++'s share of the cosine (chosen on validation: benchmarks/speakers.py)
_CPU_WORKERS = 2  # CAM++ threads beside GE2E's on a CPU
_WAITING = 32  # pieces handed to CAM++ and not yet embedded, at most
VOICE_ENCODER_ID = f"{ENCODER_ID} + {CAMPLUS_ID} at {CAMPLUS_WEIGHT}"


class VoiceEncoder:
    """``embed(pieces) -> (n, 256 + 192)`` unit vectors: each piece's projected GE2E embedding and
    its CAM++ embedding, weighted (``CAMPLUS_WEIGHT``)."""

    def __init__(self, device: str = "cpu"):
        self.ge2e = SpeakerEncoder(device)
        self.campplus = CamPlusEncoder(device)

    def embed(self, pieces: Iterable[np.ndarray], project_ge2e: bool = True) -> np.ndarray:
        """Streams like ``SpeakerEncoder.embed``: each piece goes to CAM++ on a worker thread as
        GE2E's queue takes it, and at most ``_WAITING`` pieces' audio wait for a worker, whatever
        the input's length (issue 25). ``project_ge2e=False``: the raw GE2E embeddings (the
        benchmark's ``--no-projection``)."""
        cpu = self.campplus.device == "cpu"
        # On a CPU every network and numpy's BLAS run one thread (a piece is a few hundred frames:
        # more threads' synchronisation and spinning cost more than they saved: benchmarks/speakers.py
        # --render-only) and CAM++ runs on two workers beside GE2E, so the stage keeps both cores
        # busy; on a GPU one worker feeds it.
        futures: list[Future] = []
        with (torch_threads(1 if cpu else None), threadpool_limits(1, user_api="blas") if cpu else nullcontext(),
              ThreadPoolExecutor(_CPU_WORKERS if cpu else 1, thread_name_prefix="sentimentogram-campplus") as pool):

            def each() -> Iterator[np.ndarray]:
                for wav in pieces:
                    futures.append(pool.submit(self.campplus.embed_one, wav))
                    if len(futures) > _WAITING:
                        futures[-_WAITING - 1].result()
                    yield wav

            ge2e = self.ge2e.embed(each())
            cam = [f.result() for f in futures]
        if project_ge2e:
            ge2e = project(ge2e)
        if not cam:
            return np.zeros((0, EMBEDDING_SIZE + CAMPLUS_SIZE), np.float32)
        return np.concatenate([np.sqrt(1 - CAMPLUS_WEIGHT) * ge2e, np.sqrt(CAMPLUS_WEIGHT) * np.stack(cam)],
                              axis=1).astype(np.float32)
