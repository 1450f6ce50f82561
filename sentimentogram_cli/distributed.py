"""Batches on a Ray cluster (``render INPUTS… --ray [ADDRESS]``): the same batch as ``batch``, its
inputs spread over Ray actors that each hold one ``Analyser`` (models loaded once per actor).

Why it is built this way:

* Ray is the engine, not a scheduler of ours: actors restart when their process dies
  (``max_restarts``) and Ray retries the input that was running on the new process
  (``max_task_retries``); an input that kills its worker ``1 + _RETRIES`` times fails alone.
* Each actor calls ``batch.render_entry`` (so ``jobs.render``): the same checks, cache, resume
  records, atomic outputs, result type and errors as a local run; ``batch.claim_outputs`` checks
  the batch first and the command line shows its report. Only the scheduling is new here.
* Workers: one per GPU (``num_gpus=1``; the Analyser runs float16 there) when the cluster has
  GPUs and the device allows it; otherwise CPU actors of ``_THREADS_PER_WORKER`` (2) threads
  each, as many as the nodes' CPUs hold, or ``--workers`` actors sharing the CPUs evenly. Two
  threads: Whisper and the encoders gain little past two threads on one short input, while
  separate inputs in separate processes scale almost linearly; each actor holds its own copy of
  the models (1.2–1.8 GB), and two threads per copy keeps memory per core modest.
* Inputs are probed on the driver and sent longest first, so a batch does not end on one long
  file; every input, output, style file and ``--cache-dir`` must be at the same path on every
  node (shared storage). A worker that cannot read an input fails it with the reason and its node.

Ray is imported only when a batch runs on it: without the extra, ``--ray`` is a one-line error.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .batch import BatchEntry, BatchInput, BatchReport, claim_outputs, render_entry
from .constants import VERSION
from .errors import ExitStatus, InputError, ModelError, OutputError, SentimentogramError, UsageError, as_error
from .media import probe

__all__ = ["RAY_INSTALL", "WorkerPlan", "WorkerStatus", "BatchProgress", "import_ray", "plan_workers",
           "ray_argument", "render_on_ray"]

RAY_INSTALL = "pip install 'sentimentogram[ray]'"
_THREADS_PER_WORKER = 2
_RETRIES = 2  # an input is tried at most 1 + _RETRIES times when its worker process dies
# Share of an input's time per stage (README speed table: transcription is about 90% of it).
_STAGE_WEIGHT = {"decode": 0.02, "transcribe": 0.85, "emotions": 0.10, "page": 0.03}
_POLL_SECONDS = 0.25


def import_ray():
    """The ``ray`` module, or a one-line UsageError naming the install command."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--ray needs Ray, which is not installed: {RAY_INSTALL}") from None
    return ray


def ray_argument(args: Sequence[str]) -> list[str]:
    """The command line with each bare ``--ray`` made ``--ray=local`` (Typer has no options with
    an optional value): the next argument is the address only when it looks like one (``auto``,
    ``local``, ``ray://…`` or ``host:port``, and is not a file or folder)."""
    args = list(args)
    for i, arg in enumerate(args):
        if arg == "--ray":
            after = args[i + 1] if i + 1 < len(args) else None
            looks = after is not None and (after in ("auto", "local") or "://" in after
                                           or re.fullmatch(r"[\w.\-]+:\d+", after) is not None)
            if not looks or Path(after).exists():
                args[i] = "--ray=local"
    return args


@dataclass(frozen=True)
class WorkerPlan:
    """How many actors, and what each gets: ``device`` cpu or cuda, ``cpus`` (its threads) and
    ``gpus`` (0 or 1)."""

    workers: int
    device: str
    cpus: int
    gpus: int

    def describe(self) -> str:
        if self.gpus:
            return f"{self.workers} GPU worker{'s' if self.workers > 1 else ''} (float16)"
        return f"{self.workers} CPU worker{'s' if self.workers > 1 else ''} × {self.cpus} thread{'s' if self.cpus > 1 else ''}"


def plan_workers(node_cpus: Sequence[float], node_gpus: Sequence[float], device: str = "auto",
                 workers: int | None = None) -> WorkerPlan:
    """The actors for a cluster whose alive nodes have ``node_cpus`` CPUs and ``node_gpus`` GPUs."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be 1 or more, not {workers}")
    gpus = int(sum(node_gpus))
    if device == "cuda" and not gpus:
        raise ModelError("device 'cuda' was asked for but the Ray cluster has no GPU: use --device cpu")
    if device != "cpu" and gpus:
        return WorkerPlan(min(workers or gpus, gpus), "cuda", 1, 1)
    cpus = [int(c) for c in node_cpus if c >= 1]
    if not cpus:
        raise SentimentogramError("the Ray cluster has no CPU to run workers on")
    if workers is None:
        threads = min(_THREADS_PER_WORKER, max(cpus))
        return WorkerPlan(max(1, sum(c // threads for c in cpus)), "cpu", threads, 0)
    if workers > sum(cpus):
        raise UsageError(f"--workers {workers}: the Ray cluster has only {sum(cpus)} CPUs")
    threads = max(1, min(sum(cpus) // workers, max(cpus)))
    while sum(c // threads for c in cpus) < workers:  # each actor's threads must fit on one node
        threads -= 1
    return WorkerPlan(workers, "cpu", threads, 0)


@dataclass
class WorkerStatus:
    """What one worker is doing, as its last report said."""

    pid: int
    node: str
    input: str | None = None
    stage: str = ""
    fraction: float = 0.0  # of the whole input, by _STAGE_WEIGHT


@dataclass
class BatchProgress:
    """The batch so far: seconds of media ``done`` of ``total`` (inputs under way count by their
    stage), inputs ``finished`` of ``inputs``, and each busy worker's status."""

    done: float
    total: float
    finished: int
    inputs: int
    plan: WorkerPlan | None = None
    running: dict[int, WorkerStatus] = field(default_factory=dict)  # worker index -> status


class _Worker:
    """A Ray actor: one Analyser, and ``render`` for one input at a time; ``status`` answers
    from the actor's second thread while it renders."""

    def __init__(self, analyser: dict, threads: int, version: str):
        if version != VERSION:
            raise SentimentogramError(f"sentimentogram {VERSION} on {socket.gethostname()}, {version} on the driver: "
                                      "install the same version on every node")
        os.environ["OMP_NUM_THREADS"] = str(threads)  # the actor's share: devices.cpu_cores splits it
        import torch

        from .analyser import Analyser

        torch.set_num_threads(threads)
        self.analyser = Analyser(**analyser)
        self.state = WorkerStatus(os.getpid(), socket.gethostname())
        self._finished = 0.0

    def status(self) -> WorkerStatus:
        return self.state

    def _progress(self, stage: str, fraction: float) -> None:
        weight = _STAGE_WEIGHT.get(stage, 0.0)
        if fraction >= 1.0:
            self._finished += weight
        self.state = replace(self.state, stage=stage, fraction=min(1.0, self._finished + (weight * fraction
                                                                                           if fraction < 1 else 0)))

    def render(self, item: BatchInput, settings: dict) -> tuple[BatchEntry, str]:
        self.state, self._finished = WorkerStatus(os.getpid(), socket.gethostname(), item.name), 0.0
        try:
            return render_entry(item, analyser=self.analyser, progress=self._progress, **settings), self.state.node
        finally:
            self.state = WorkerStatus(os.getpid(), self.state.node)


def _connect(ray, address: str | None) -> bool:
    """Connect to ``address`` (None or "local": a new local Ray on this machine's cores); True
    when this call started the connection (and so must end it). An existing one is used."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address or "local", logging_level=logging.ERROR, log_to_driver=False,
                 **({"include_dashboard": False} if address in (None, "local") else {}))
    except Exception as exc:  # ConnectionError, a bad address, an auth failure: one line
        if address in (None, "local"):
            raise as_error(exc, "cannot start a local Ray: ") from exc
        raise SentimentogramError(f"cannot reach the Ray cluster at {address} ({as_error(exc)}): is it running? "
                                  f"A cluster with token authentication also needs RAY_AUTH_MODE=token here and "
                                  f"its token in ~/.ray/auth_token") from exc
    return True


def _durations(items: list[BatchInput]) -> tuple[list[BatchInput], list[float]]:
    """Probe every input on the driver (in parallel): its duration, or its error, the same as a
    local run would give it."""
    def one(item: BatchInput) -> tuple[BatchInput, float]:
        if item.error is not None:
            return item, 0.0
        try:
            return item, probe(item.path).duration or 0.0
        except Exception as exc:
            return replace(item, error=as_error(exc)), 0.0

    with ThreadPoolExecutor(8) as pool:
        pairs = list(pool.map(one, items))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _absolute(analyser: dict, output, style, cache):
    """Every path a worker reads or writes made absolute: workers do not share the driver's
    working folder, only its storage."""
    from .jobs import OutputOptions
    from .style import Style

    if analyser.get("head") is not None:
        analyser["head"] = Path(analyser["head"]).absolute()
    output = output or OutputOptions()
    if output.out is not None:
        output = replace(output, out=output.out.absolute())
    style = style or Style()
    style = replace(style, style_file=style.style_file and style.style_file.absolute(),
                    profile=style.profile and style.profile.absolute())
    if isinstance(cache, (str, os.PathLike)):
        cache = Path(cache).expanduser().absolute()
    return analyser, output, style, cache


def _shown(entry: BatchEntry) -> BatchEntry:
    """Outputs under the working folder shown relative to it, as a local run shows them."""
    here = Path.cwd()
    entry.outputs = [p.relative_to(here) if p.is_relative_to(here) else p for p in map(Path, entry.outputs)]
    return entry


def _died(item: BatchInput, exc: Exception) -> BatchEntry:
    """The entry of an input whose worker died on it every try, or could not start at all."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if "creation task" in first:  # the actor's __init__ raised (a version mismatch, a broken install)
        raised = [line for line in lines if re.match(r"[\w.]+(Error|Exception): ", line)]
        why = raised[-1].split(": ", 1)[1] if raised else first
        return BatchEntry(item.name, "failed", error=f"{item.name}: its worker could not start: {why[:300]}",
                          exit_status=ExitStatus.ERROR)
    return BatchEntry(item.name, "failed", error=f"{item.name}: its worker died {1 + _RETRIES} times while "
                      f"rendering it (killed, or out of memory?): {first[:300]}", exit_status=ExitStatus.ERROR)


def _where(entry: BatchEntry, node: str) -> BatchEntry:
    if entry.status == "failed" and entry.exit_status in (InputError.exit_status, OutputError.exit_status):
        entry.error += (f" (on worker node {node}: inputs and outputs must be on storage every node sees, "
                        "at the same path)")
    return entry


def render_on_ray(items: Sequence[BatchInput], *, analyser: dict | None = None, options=None, style=None,
                  output=None, cache=True, force: bool = False, address: str | None = None,
                  workers: int | None = None, threads: int | None = None,
                  on_update: Callable[[BatchProgress], None] | None = None,
                  on_done: Callable[[BatchEntry], None] | None = None) -> BatchReport:
    """``batch.run_batch`` on a Ray cluster; returns the same ``BatchReport`` (inputs in order).

    ``analyser``: the Analyser's arguments (device, asr_model, backend, head), made once per
    actor; ``options``, ``style``, ``output``, ``cache``, ``force``: as for ``render`` (``cache``
    True means each node's default folder: give one on shared storage on a cluster). ``address``:
    None or "local" starts a local Ray, "auto" or "ray://host:10001" joins a cluster (a Ray
    already initialised in this process is used as it is). ``workers``, ``threads``: see
    ``plan_workers`` (``threads`` overrides each CPU actor's). ``on_update`` hears the progress
    several times a second; ``on_done`` each input at its end.
    """
    ray = import_ray()
    analyser, output, style, cache = _absolute(dict(analyser or {}), output, style, cache)
    settings = dict(options=options, style=style, output=output, cache=cache, force=force)
    planned, durations = _durations(claim_outputs(items, output))  # errors name the paths as given
    entries: list[BatchEntry | None] = [None] * len(planned)
    for i, item in enumerate(planned):
        if item.error is not None:
            entries[i] = render_entry(item, analyser=None)
            if on_done:
                on_done(entries[i])
    queue = sorted((i for i, e in enumerate(entries) if e is None), key=lambda i: -durations[i])
    completed = sum(durations[i] for i, e in enumerate(entries) if e is not None)
    progress = BatchProgress(completed, sum(durations), len(planned) - len(queue), len(planned))
    if not queue:
        return BatchReport(entries)

    started = _connect(ray, address)
    actors = []
    try:
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        plan = plan_workers([n.get("CPU", 0) for n in nodes], [n.get("GPU", 0) for n in nodes],
                            analyser.get("device", "auto"), workers)
        if threads and not plan.gpus:
            plan = replace(plan, cpus=threads)
        progress.plan = plan
        # Two threads: ``render`` (one at a time: the driver sends one input per worker) and ``status``.
        worker = ray.remote(_Worker).options(num_cpus=plan.cpus, num_gpus=plan.gpus, max_concurrency=2,
                                             max_restarts=-1, max_task_retries=_RETRIES)
        actors = [worker.remote({**analyser, "device": plan.device}, plan.cpus, VERSION)
                  for _ in range(min(plan.workers, len(queue)))]
        idle, running, polls = list(range(len(actors))), {}, {}
        while queue or running:
            while idle and queue:  # longest first, to whichever worker is free
                a, i = idle.pop(0), queue.pop(0)
                item = replace(planned[i], path=planned[i].path.absolute())  # workers have another cwd
                running[actors[a].render.remote(item, settings)] = (a, i)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL_SECONDS)
            for ref in ready:
                a, i = running.pop(ref)
                try:
                    entry, node = ray.get(ref)
                    entry = _shown(_where(entry, node))
                except ray.exceptions.RayError as exc:  # retries spent, or the actor cannot start
                    entry = _died(planned[i], exc)
                entries[i] = entry
                completed += durations[i]
                progress.finished += 1
                progress.running.pop(a, None)
                idle.append(a)
                if on_done:
                    on_done(entry)
            _poll(ray, actors, running, polls, progress, planned)
            progress.done = completed + sum(progress.running[a].fraction * durations[i]
                                            for a, i in running.values() if a in progress.running)
            if on_update:
                on_update(progress)
    finally:  # also on Ctrl-C: outputs are atomic and resume records say what is done
        if started:
            ray.shutdown()  # the job ends, and its actors with it
        for actor in actors if not started else ():  # a Ray someone else started stays up: free its CPUs
            ray.kill(actor, no_restart=True)
    return BatchReport(entries)


def _poll(ray, actors, running, polls, progress: BatchProgress, planned: list[BatchInput]) -> None:
    """Ask each busy worker what it is doing (one question at a time each); note the answers."""
    busy = {a: i for a, i in running.values()}
    for a in set(busy) - set(polls):
        polls[a] = actors[a].status.remote()
    answered, _ = ray.wait(list(polls.values()), num_returns=len(polls), timeout=0) if polls else ([], [])
    for a, ref in list(polls.items()):
        if ref not in answered:
            continue
        del polls[a]
        try:
            status = ray.get(ref)
        except ray.exceptions.RayError:  # the worker died: Ray restarts it and retries its input
            continue
        if a in busy and status.input == planned[busy[a]].name:
            progress.running[a] = status
