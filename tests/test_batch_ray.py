"""Batches on a real local Ray cluster (``render --ray``): the same analysis documents as the local
run, a worker killed with SIGKILL in the middle of an input (Ray restarts it and the input still
completes, atomically), one bad input failing alone, and a rerun skipping what is done. Also the
worker plan and the ``--ray [ADDRESS]`` argument, which need no cluster.

One Ray batch serves the first three checks (starting workers and their models is the slow part
on a 2-core machine). Whisper tiny.en keeps it short; the emotion head is the shipped one.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sentimentogram_cli.batch import discover_inputs
from sentimentogram_cli.distributed import WorkerPlan, plan_workers, ray_argument, render_on_ray
from sentimentogram_cli.errors import ExitStatus, ModelError, UsageError
from sentimentogram_cli.jobs import OutputOptions

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE, JFK = ROOT / "examples/ravdess_actor18.mp4", ROOT / "examples/jfk.flac"
# The two longest have the same bytes: both workers start on them at once and race on one cache
# key. The third is taken by whichever worker is free first, and killed while it transcribes.
GOOD = ["a-jfk.flac", "a-jfk-copy.flac", "b-example.wav", "c-example.wav"]
KILLED = "b-example.wav"
COMMON = ["--asr-model", "tiny.en", "--device", "cpu", "--format", "json"]


# ---- no cluster needed --------------------------------------------------------------------------

def test_worker_plan():
    assert plan_workers([2], [0]) == WorkerPlan(1, "cpu", 2, 0)  # one actor of 2 threads per 2 CPUs
    assert plan_workers([16, 8], [0, 0]) == WorkerPlan(12, "cpu", 2, 0)
    assert plan_workers([2], [0], workers=2) == WorkerPlan(2, "cpu", 1, 0)
    assert plan_workers([16], [0], workers=3) == WorkerPlan(3, "cpu", 5, 0)
    assert plan_workers([4, 4], [0, 0], workers=1) == WorkerPlan(1, "cpu", 4, 0)  # threads fit one node
    assert plan_workers([16, 16], [4, 0]) == WorkerPlan(4, "cuda", 1, 1)  # one actor per GPU
    assert plan_workers([16], [4], workers=2) == WorkerPlan(2, "cuda", 1, 1)
    assert plan_workers([16], [4], device="cpu") == WorkerPlan(8, "cpu", 2, 0)
    with pytest.raises(ModelError, match="no GPU"):
        plan_workers([8], [0], device="cuda")
    with pytest.raises(UsageError, match="only 2 CPUs"):
        plan_workers([2], [0], workers=3)


def test_ray_address_is_optional(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "talks").mkdir()
    assert ray_argument(["render", "talks", "--ray"]) == ["render", "talks", "--ray=local"]
    assert ray_argument(["render", "--ray", "talks"]) == ["render", "--ray=local", "talks"]
    assert ray_argument(["render", "talks", "--ray", "--workers", "2"])[2] == "--ray=local"
    for address in ("auto", "local", "ray://head:10001", "10.0.0.5:6379"):
        assert ray_argument(["render", "talks", "--ray", address])[2:] == ["--ray", address]


def test_ray_missing_is_one_line(run_cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    (tmp_path / "a.wav").write_bytes(b"x")
    code, out = run_cli(["render", str(tmp_path), "--ray"])
    assert code == ExitStatus.USAGE
    assert "pip install 'sentimentogram[ray]'" in out and "Traceback" not in out
    code, out = run_cli(["render", str(tmp_path), "--workers", "2"])
    assert code == ExitStatus.USAGE and "--workers needs --ray" in out


# ---- one batch on a local Ray cluster ------------------------------------------------------------

def _cut(source: Path, start: float, seconds: float, target: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(seconds), "-i", str(source),
                    "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-map_metadata", "-1", "-bitexact",
                    str(target)], check=True)


@pytest.fixture(scope="module")
def talks(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("talks")
    (folder / GOOD[0]).write_bytes(JFK.read_bytes())
    (folder / GOOD[1]).write_bytes(JFK.read_bytes())
    _cut(EXAMPLE, 0.0, 9.5, folder / GOOD[2])
    _cut(EXAMPLE, 9.5, 9.3, folder / GOOD[3])
    (folder / "e-bad.mp4").write_text("not a video")
    return folder


@pytest.fixture(scope="module")
def reference(talks, tmp_path_factory) -> Path:
    """The local run, one thread per model like each of the two Ray workers (CTranslate2's and
    torch's results depend on the thread count)."""
    out, cache = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("local-cache")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "sentimentogram_cli", "render", str(talks), *COMMON, "--out", str(out),
                           "--cache-dir", str(cache)], env=env, capture_output=True, text=True)
    assert done.returncode == ExitStatus.NOT_MEDIA, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray", reason="the --ray tests need Ray: pip install '.[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_run(cluster, talks, tmp_path_factory):
    """The batch on two Ray workers; the worker rendering KILLED is sent SIGKILL mid-transcription."""
    out, cache = tmp_path_factory.mktemp("ray"), tmp_path_factory.mktemp("ray-cache")
    pids, killed = set(), []

    def on_update(progress):
        for status in progress.running.values():
            if status.input and status.input.endswith(KILLED):
                pids.add(status.pid)
                if not killed and status.stage == "transcribe":
                    os.kill(status.pid, signal.SIGKILL)
                    killed.append(status.pid)

    report = render_on_ray(discover_inputs([str(talks)]), analyser={"device": "cpu", "asr_model": "tiny.en"},
                           output=OutputOptions(out=out, formats="json"), cache=cache, workers=2, on_update=on_update)
    return {"report": report, "out": out, "cache": cache, "pids": pids, "killed": killed}


@pytest.mark.slow
def test_same_documents_as_the_local_run(ray_run, reference):
    report = ray_run["report"]
    by_name = {Path(e.name).name: e for e in report.entries}
    assert sorted(by_name) == sorted(GOOD + ["e-bad.mp4"])
    for name in GOOD:
        assert by_name[name].status in ("rendered", "restyled"), by_name[name]
        stem = Path(name).stem + ".json"
        assert (ray_run["out"] / stem).read_bytes() == (reference / stem).read_bytes(), name
    # Both workers analysed the same bytes at once and stored them under one key: still whole documents.
    assert by_name[GOOD[0]].status == by_name[GOOD[1]].status == "rendered"
    stored = list((ray_run["cache"] / "analyses").glob("*.json"))
    assert len(stored) == 3 and all(json.loads(p.read_text())["lines"] for p in stored)


@pytest.mark.slow
def test_killed_worker_input_is_retried_and_completed(ray_run, reference):
    assert ray_run["killed"], f"{KILLED} was never seen mid-transcription"
    assert len(ray_run["pids"]) >= 2, "the input was not taken up by a new worker process"
    entry = next(e for e in ray_run["report"].entries if e.name.endswith(KILLED))
    assert entry.status in ("rendered", "restyled") and not entry.error
    assert not list(ray_run["out"].glob(".*part*"))  # the killed process left no partial output
    stem = Path(KILLED).stem + ".json"
    assert (ray_run["out"] / stem).read_bytes() == (reference / stem).read_bytes()


@pytest.mark.slow
def test_bad_input_fails_alone(ray_run):
    report = ray_run["report"]
    assert [Path(e.name).name for e in report.failed] == ["e-bad.mp4"]
    assert "not a media file" in report.failed[0].error
    assert report.exit_status == ExitStatus.NOT_MEDIA


@pytest.mark.slow
def test_rerun_skips_what_is_done(ray_run, talks, run_cli):
    code, out = run_cli(["render", str(talks), *COMMON, "--out", str(ray_run["out"]),
                         "--cache-dir", str(ray_run["cache"]), "--ray", "--workers", "2"])
    assert code == ExitStatus.NOT_MEDIA, out
    assert out.count("skipped") == len(GOOD) and "rendered" not in out
    assert "e-bad.mp4 is not a media file" in out and out.strip().endswith("1 of 5 inputs failed")


@pytest.mark.slow
def test_worker_of_another_version_fails_its_inputs_with_the_reason(cluster, talks, tmp_path, monkeypatch):
    import sentimentogram_cli.distributed as distributed

    monkeypatch.setattr(distributed, "VERSION", "0.0.0")  # the driver is another release than the workers
    items = discover_inputs([str(talks / GOOD[2]), str(talks / GOOD[3])])
    report = render_on_ray(items, analyser={"device": "cpu"}, output=OutputOptions(out=tmp_path), cache=tmp_path,
                           workers=2)
    assert len(report.failed) == 2
    assert all("its worker could not start" in e.error and "0.0.0 on the driver" in e.error for e in report.failed)
