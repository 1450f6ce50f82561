#!/usr/bin/env python
"""How long sentimentogram makes a user wait, against what the user would otherwise run.

    python benchmarks/speed.py                             # the example, and a 10-minute loop of it
    python benchmarks/speed.py talk.mp4 --long-minutes 0   # your own input(s)
    python benchmarks/speed.py --short                     # CI: the example once, tiny.en words
    python benchmarks/speed.py --device cuda --json out.json --markdown table.md

Each configuration (full render, faster-whisper alone, the emotion stage against the paper's
approach, restyle) runs in its own child process of this script, so its peak RSS is its own.
Inside a child the models are loaded and warmed up once (reported apart) and the stages are timed
on every repeat. The two sides of each ratio run in the same process, interleaved, so other work
on the machine slows both alike; ratios are medians of those pairs. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]  # run from a checkout, uninstalled

EXAMPLE = ROOT / "examples" / "ravdess_actor18.mp4"
ASR_RATIO_TARGET = 1.25  # full render at most a quarter slower than faster-whisper alone
PAPER_SPEEDUP_TARGET = 5.0  # our emotion stage at least 5x faster than the per-group approach
BEAM_SIZE = 5  # faster-whisper's default, which transcribe.py leaves in place
WARMUP_SECONDS = 5.0
SAMPLE_RATE = 16_000


def _median(values):
    return statistics.median(values) if values else None


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (ffmpeg): steadier than wall time
    when other work shares the cores."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _count_time(obj, name: str, busy: dict) -> None:
    """Wrap obj.name so that the seconds spent in it add up in busy[name] (the stage split)."""
    inner = getattr(obj, name)

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            busy[name] = busy.get(name, 0.0) + time.perf_counter() - t0
    setattr(obj, name, timed)


# --- child processes: one configuration each -----------------------------------------------

def _load_models(spec: dict) -> tuple:
    from sentimentogram_cli.pipeline import Models

    load, t0 = {}, time.perf_counter()
    models = Models(device=spec["device"], head_path=spec["head"])
    for name, attr in (("emotion head", "head"), ("whisper (audio encoder)", "audio_encoder"), ("text encoder", "text_encoder")):
        getattr(models, attr)
        load[name], t0 = time.perf_counter() - t0, time.perf_counter()
    return models, load


def _chunks(path: str) -> tuple[list, int]:
    """The recording as the pipeline holds it: 30 s chunks, and its length in samples."""
    from sentimentogram_cli.media import iter_audio_chunks

    return (chunks := list(iter_audio_chunks(path, 30.0))), sum(len(c) for c in chunks)


def _ours(chunks, n, segments, models):
    """The render's own emotion stage: one encoder pass per 30 s chunk, windows batched."""
    from sentimentogram_cli.emotions import recognise_chunks

    return recognise_chunks(chunks, n, segments, models.head, models.audio_encoder, models.text_encoder)


def _warm_up(models, chunks, transcribe=None) -> None:
    """First calls allocate buffers and pick kernels: pay that before the timed runs."""
    from sentimentogram_cli.analysis import Segment, Word

    clip = chunks[0][: int(WARMUP_SECONDS * SAMPLE_RATE)]
    if transcribe:
        list(transcribe(clip, word_timestamps=True, vad_filter=True, beam_size=BEAM_SIZE)[0])
    words = [Word(" warm", 0.5, 1.0, 1.0), Word(" up", 1.0, 1.5, 1.0)]
    _ours([clip], len(clip), [Segment(0.5, 1.5, "warm up", words)], models)


def child_render(spec: dict) -> dict:
    """Full render (cold analysis cache), interleaved with faster-whisper alone on the same
    loaded model; then renders whose analysis comes from the cache (restyle from the cache)."""
    from sentimentogram_cli.assets import load_whisper
    from sentimentogram_cli.pipeline import RenderOptions, render_file

    models, load = _load_models(spec)
    t0 = time.perf_counter()
    asr = load_whisper(spec["asr_model"], models.device)  # cached: the audio encoder's own when equal
    load["whisper (asr)"], t0 = time.perf_counter() - t0, time.perf_counter()
    baseline = asr.transcribe
    _warm_up(models, _chunks(spec["input"])[0], baseline)
    load["warm-up"] = time.perf_counter() - t0

    busy: dict[str, float] = {}
    for obj, name in ((models.audio_encoder, "encode"), (models.text_encoder, "embed"), (models.head, "predict")):
        _count_time(obj, name, busy)
    ours: dict = {}
    asr.transcribe = lambda audio, **kw: (ours.update(kw), baseline(audio, **kw))[1]  # record our settings
    settings = {"word_timestamps": True, "vad_filter": True, "beam_size": BEAM_SIZE}
    work = Path(spec["workdir"])
    options = lambda **kw: RenderOptions(out=work / "page.html", formats=("html", "json"), asr_model=spec["asr_model"],
                                         device=spec["device"], head=spec["head"] and Path(spec["head"]), force=True, **kw)
    renders, alone, cpu = [], [], {"render": [], "asr": []}
    for rep in range(spec["repeats"]):
        for side in (("render", "asr") if rep % 2 == 0 else ("asr", "render")):
            t0, c0 = time.perf_counter(), _cpu()
            if side == "asr":  # what a faster-whisper user runs: the file, word timestamps, VAD
                pieces, _ = baseline(spec["input"], **settings)
                baseline_words = sum(len(p.words or []) for p in pieces)  # the generator does the work
                alone.append(time.perf_counter() - t0)
                cpu["asr"].append(_cpu() - c0)
                continue
            busy.clear()
            result = render_file(Path(spec["input"]), options(cache_dir=work / f"cache{rep}"), models)
            wall = time.perf_counter() - t0
            cpu["render"].append(_cpu() - c0)
            assert result.status == "rendered", result.status
            s, audio_s, text_s = result.stage_seconds, busy.get("encode", 0.0), busy.get("embed", 0.0)
            renders.append({"decode": s["decode"], "transcribe": s["transcribe"], "encode audio": audio_s,
                            "encode text": text_s, "emotion head": s["emotions"] - audio_s - text_s,
                            "page": s["page"], "other": wall - sum(s.values()), "total": wall})
    cached = []
    for culture in ("eastern", "accessible", "western"):  # the cache of the last render holds the analysis
        t0 = time.perf_counter()
        again = render_file(Path(spec["input"]), options(cache_dir=work / f"cache{rep}", culture=culture), models)
        cached.append(time.perf_counter() - t0)
        assert again.status == "restyled", again.status
    defaults = {"beam_size": BEAM_SIZE, "word_timestamps": False, "vad_filter": False}  # faster-whisper's
    return {"renders": renders, "asr_alone": alone, "cpu": cpu, "cached_render": cached, "load": load, "duration": result.duration,
            "words": result.n_words, "baseline_words": baseline_words, "language": result.language,
            "analysis": str(next(p for p in result.outputs if p.suffix == ".json")),
            "asr_settings": {"ours": {k: ours.get(k, v) for k, v in defaults.items()}, "baseline": settings}}


def child_asr(spec: dict) -> dict:
    """faster-whisper alone in a fresh process: its own load time and peak memory."""
    from sentimentogram_cli.assets import load_whisper

    t0 = time.perf_counter()
    model = load_whisper(spec["asr_model"], spec["device"])
    load, times = time.perf_counter() - t0, []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        pieces, _ = model.transcribe(spec["input"], word_timestamps=True, vad_filter=True, beam_size=BEAM_SIZE)
        sum(len(p.words or []) for p in pieces)
        times.append(time.perf_counter() - t0)
    return {"load": load, "times": times}


def child_emotions(spec: dict) -> dict:
    """Our emotion stage against the paper's per-group approach: same words, interleaved."""
    import numpy as np
    from paper_reference import paper_emotions, sample_groups, word_groups, write_wav
    from sentimentogram_cli.analysis import Analysis, Segment, Word
    from sentimentogram_cli.windows import layout_windows

    models, load = _load_models(spec)
    chunks, n = _chunks(spec["input"])
    lines = Analysis.load(Path(spec["analysis"])).lines  # the words the render found
    segments = [Segment(l.start, l.end, l.text, [Word(w.text, w.start, w.end, w.probability) for w in l.words]) for l in lines]
    words = [w for s in segments for w in s.words]
    wav = write_wav(np.concatenate(chunks), Path(spec["workdir"]) / "audio16k.wav")
    groups = word_groups(words)
    timed = sample_groups(groups, spec["paper_groups"])
    _warm_up(models, chunks)
    paper = lambda gs: paper_emotions(wav, words, models.head, models.audio_encoder, models.text_encoder, groups=gs)
    paper(timed[:1])
    times = {"ours": [], "paper": []}
    for rep in range(spec["repeats"]):
        for side in (("ours", "paper") if rep % 2 == 0 else ("paper", "ours")):
            t0 = time.perf_counter()
            _ours(chunks, n, segments, models) if side == "ours" else paper(timed)
            # A sample of groups costs in proportion: every group is one call of each model.
            times[side].append((time.perf_counter() - t0) * (1 if side == "ours" else len(groups) / len(timed)))
    return {**times, "load": load, "groups": len(groups), "groups_timed": len(timed),
            "windows": len(layout_windows(words, n / SAMPLE_RATE))}


def child_restyle(spec: dict) -> dict:
    """The restyle command's work in-process: pipeline.restyle_file, the page from the document alone."""
    from sentimentogram_cli.pipeline import RenderOptions, restyle_file

    out, times = Path(spec["workdir"]) / "restyled.html", []
    for _ in range(max(3, spec["repeats"])):  # cheap: a few runs steady the median
        t0 = time.perf_counter()
        restyle_file(Path(spec["analysis"]), RenderOptions(culture="eastern", out=out), Path(spec["input"]))
        times.append(time.perf_counter() - t0)
    return {"times": times}


CHILDREN = {"render": child_render, "asr": child_asr, "emotions": child_emotions, "restyle": child_restyle}


def _run_child(name: str, spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    cuda = spec["device"] == "cuda"
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    result = CHILDREN[name](spec)
    if cuda:  # the head and the text encoder; CTranslate2's memory comes from nvidia-smi
        result["torch_max_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
    Path(spec["result"]).write_text(json.dumps(result))


# --- the parent: inputs, children, summary ---------------------------------------------------

def _nvidia_smi(args: list[str]) -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", *args, "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def _gpu_used_mib(pid: int) -> tuple[float | None, float | None]:
    """(this process's GPU memory, the whole device's), MiB, from nvidia-smi; None when unknown."""
    mine = [float(row.split(",")[1]) for row in _nvidia_smi(["--query-compute-apps=pid,used_memory"])
            if row.split(",")[0].strip() == str(pid)]
    device = [float(v) for v in _nvidia_smi(["--query-gpu=memory.used"])]
    return (sum(mine) if mine else None), (device[0] if device else None)


def spec_env(workdir: Path) -> dict:
    """Children never touch the user's analysis cache."""
    return {**os.environ, "SENTIMENTOGRAM_CACHE_DIR": str(workdir / "cache")}


def spawn(name: str, spec: dict, workdir: Path) -> dict:
    """Run one configuration in a child; add its peak RSS (and GPU memory) from outside it."""
    spec = {**spec, "result": str(workdir / f"{name}.result.json")}
    spec_path, log_path, gpu = workdir / f"{name}.spec.json", workdir / f"{name}.log", spec["device"] == "cuda"
    spec_path.write_text(json.dumps(spec))
    device_before, proc_peak, device_peak = (_gpu_used_mib(-1)[1] if gpu else None), None, None
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", name, str(spec_path)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=spec_env(workdir))
        while True:
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if gpu:  # sampled while the child runs: nvidia-smi has no peak of its own
                mine, device = _gpu_used_mib(proc.pid)
                proc_peak = max(filter(None, (proc_peak, mine)), default=None)
                device_peak = max(filter(None, (device_peak, device)), default=None)
            time.sleep(0.25)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)  # reaped here: Popen must not wait again
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise SystemExit(f"benchmark child {name!r} failed (exit {proc.returncode}):\n{tail}")
    result = json.loads(Path(spec["result"]).read_text())
    result["peak_rss_mib"] = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)  # macOS: bytes
    if gpu:
        result["gpu_process_mib"] = proc_peak
        result["gpu_device_delta_mib"] = (device_peak - device_before) if device_peak and device_before is not None else None
    return result


def make_long_input(source: Path, minutes: float, workdir: Path) -> Path:
    """``minutes`` of ``source`` looped by ffmpeg (stream copy: no re-encode)."""
    out = workdir / f"{source.stem}_x{minutes:g}min{source.suffix}"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(source),
                    "-t", str(minutes * 60), "-c", "copy", str(out)], check=True)
    return out


def choose_head(requested: Path | None, workdir: Path) -> tuple[str | None, str]:
    """The head to run and how to name it: --head, else the shipped one, else random weights."""
    from sentimentogram_cli.assets import head_checkpoint_path
    from sentimentogram_cli.head import EmotionHead

    for path, what in ((requested, "given"), (head_checkpoint_path(), "shipped")):
        if path is not None and Path(path).is_file():
            return (str(path) if what == "given" else None), f"{what} head {EmotionHead.load(Path(path)).metadata.version!r}"
    import numpy as np
    import torch
    from sentimentogram_cli.constants import EMOTIONS
    from sentimentogram_cli.fusion import FusedEmotionModel, FusionConfig
    from sentimentogram_cli.head import HeadMetadata

    torch.manual_seed(0)  # a head's speed depends on its shape, not on its weights
    meta = HeadMetadata(version="bench", audio_encoder="whisper-base", text_encoder="sentence-transformers/all-MiniLM-L6-v2",
                        feature_convention="chunk30s-pool2-packed-by-speaker-v1", window_seconds=3.0, hop_seconds=1.0,
                        recording_mean_weight=0.5)
    path = workdir / "random_head.safetensors"
    EmotionHead(FusedEmotionModel(FusionConfig(labels=EMOTIONS)), meta, np.zeros(512), np.ones(512)).save(path)
    return str(path), "random weights, default architecture (the shipped head is not trained yet; same speed)"


def machine(device: str) -> dict:
    info = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
            for name in ("/proc/cpuinfo", "/proc/meminfo") if Path(name).exists()
            for line in Path(name).read_text().splitlines() if ":" in line}
    return {"cpu": info.get("model name", platform.processor()), "cores": len(os.sched_getaffinity(0)),
            "ram_gib": round(int(info["MemTotal"].split()[0]) / 2**20, 1) if "MemTotal" in info else None,
            "gpus": _nvidia_smi(["--query-gpu=name,memory.total"]) if device != "cpu" else [],
            "os": platform.platform(), "python": platform.python_version(),
            "versions": {p: metadata.version(p) for p in ("torch", "ctranslate2", "faster-whisper", "transformers")},
            "load_average_at_start": os.getloadavg()}


def summarise(render: dict, asr: dict, emotions: dict, restyle: dict, command_s: float, asr_model: str) -> dict:
    stages = {k: _median([r[k] for r in render["renders"]]) for k in render["renders"][0]}
    ratio = _median([r["total"] / a for r, a in zip(render["renders"], render["asr_alone"])])
    cpu_ratio = _median([r / a for r, a in zip(render["cpu"]["render"], render["cpu"]["asr"])])
    speedup = _median([p / o for o, p in zip(emotions["ours"], emotions["paper"])])
    restyle_s = _median(restyle["times"])
    summary = {
        "duration_s": render["duration"], "words": render["words"], "asr_alone_words": render["baseline_words"],
        "windows": emotions["windows"],
        "paper_groups": emotions["groups"], "paper_groups_timed": emotions["groups_timed"],
        "load_s": render["load"], "stages_s": stages, "render_s": stages["total"],
        "realtime_factor": stages["total"] / render["duration"], "asr_alone_s": _median(render["asr_alone"]),
        "asr_alone_fresh_process_s": _median(asr["times"]), "asr_settings": render["asr_settings"],
        "render_vs_asr": ratio, "render_vs_asr_cpu": cpu_ratio, "emotions_ours_s": _median(emotions["ours"]),
        "emotions_paper_s": _median(emotions["paper"]), "speedup_vs_paper": speedup,
        "restyle_s": restyle_s, "restyle_command_s": command_s, "render_from_cache_s": _median(render["cached_render"]),
        "render_vs_restyle": stages["total"] / restyle_s, "repeats": len(render["renders"]),
        "peak_rss_mib": {"full render": render["peak_rss_mib"], "faster-whisper alone": asr["peak_rss_mib"],
                         "emotion stage, ours + paper": emotions["peak_rss_mib"], "restyle": restyle["peak_rss_mib"]},
        "gpu_mib": {name: {k: part.get(k) for k in ("torch_max_allocated_mib", "gpu_process_mib", "gpu_device_delta_mib")}
                    for name, part in (("full render", render), ("faster-whisper alone", asr),
                                       ("emotion stage", emotions)) if "gpu_process_mib" in part} or None,
        # The ASR target is about the shipped configuration: words and audio features from base.
        "targets": {"render_vs_asr": {"value": ratio, "target": ASR_RATIO_TARGET,
                                      "met": ratio <= ASR_RATIO_TARGET if asr_model == "base" else None},
                    "speedup_vs_paper": {"value": speedup, "target": PAPER_SPEEDUP_TARGET, "met": speedup >= PAPER_SPEEDUP_TARGET}},
    }
    if render["asr_settings"]["ours"] != render["asr_settings"]["baseline"]:
        summary["warning"] = f"the ASR settings differ: {render['asr_settings']}"
    return summary


def bench_input(path: Path, label: str, args, head: str | None, workdir: Path, status, repeats: int, groups: int) -> dict:
    sub = workdir / label.replace(" ", "_")
    sub.mkdir()
    spec = {"input": str(path), "device": args.device, "asr_model": args.asr_model, "head": head,
            "repeats": repeats, "workdir": str(sub), "paper_groups": groups}
    parts = {}
    for name in ("render", "asr", "emotions", "restyle"):
        status.update(f"{label}: {name}…")
        parts[name] = spawn(name, {**spec, "analysis": parts.get("render", {}).get("analysis")}, sub)
    t0 = time.perf_counter()  # the restyle command as a user runs it: Python start-up and imports included
    subprocess.run([sys.executable, "-m", "sentimentogram_cli", "restyle", parts["render"]["analysis"], "--out",
                    str(sub / "restyled_cli.html"), "--culture", "accessible", "--media", str(path)],
                   check=True, cwd=ROOT, capture_output=True, env=spec_env(sub))
    return {"input": str(path), **summarise(**parts, command_s=time.perf_counter() - t0, asr_model=args.asr_model)}


def table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per figure, one column per input."""
    inputs = list(report["inputs"].values())

    def row(name, cell):
        return [name] + [cell(s) for s in inputs]

    def verdict(s, key):
        return {True: "✓", False: "✗ missed", None: f"(target is for base, not {report['asr_model']})"}[s["targets"][key]["met"]]

    def gpu(m):  # torch: head + text encoder; nvidia-smi: the whole process (else the device's rise)
        whole = m["gpu_process_mib"] or m["gpu_device_delta_mib"]
        return (f"{m['torch_max_allocated_mib'] or 0:.0f} / " + ("—" if whole is None else f"{whole:.0f}")
                + ("" if m["gpu_process_mib"] or whole is None else " (device)"))

    rows = [row("media (s) · words · windows · paper word groups",
                lambda s: f"{s['duration_s']:.1f} · {s['words']} · {s['windows']} · {s['paper_groups']}"),
            row("models: load + warm-up, once per process (s)", lambda s: f"{sum(s['load_s'].values()):.1f}")]
    rows += [row(f"render: {k} (s)", lambda s, k=k: f"{s['stages_s'][k]:.2f}")
             for k in ("decode", "transcribe", "encode audio", "encode text", "emotion head", "page", "other")]
    rows += [row("**full render (s)**", lambda s: f"{s['render_s']:.2f}"),
             row("real-time factor (render s / media s)", lambda s: f"{s['realtime_factor']:.3f}"),
             row("faster-whisper alone, same model and settings (s)", lambda s: f"{s['asr_alone_s']:.2f}"),
             row("words found: render / faster-whisper alone", lambda s: f"{s['words']} / {s['asr_alone_words']}"),
             row(f"**render / faster-whisper** (target ≤ {ASR_RATIO_TARGET})",
                 lambda s: f"{s['render_vs_asr']:.2f} {verdict(s, 'render_vs_asr')}"),
             row("render / faster-whisper in CPU seconds (steadier on a busy machine)", lambda s: f"{s['render_vs_asr_cpu']:.2f}"),
             row("emotion stage, ours: sliding windows (s)", lambda s: f"{s['emotions_ours_s']:.2f}"),
             row("emotion stage, paper: per word group (s)", lambda s: f"{s['emotions_paper_s']:.2f}" + (
                 f" ({s['paper_groups_timed']} groups timed, scaled)" if s["paper_groups_timed"] < s["paper_groups"] else "")),
             row(f"**paper / ours** (target ≥ {PAPER_SPEEDUP_TARGET:g})",
                 lambda s: f"{s['speedup_vs_paper']:.1f}× {verdict(s, 'speedup_vs_paper')}"),
             row("restyle from the analysis document (s)", lambda s: f"{s['restyle_s']:.3f}"),
             row("**full render / restyle**", lambda s: f"{s['render_vs_restyle']:.0f}×"),
             row("render again, analysis from the cache (s)", lambda s: f"{s['render_from_cache_s']:.3f}"),
             row("`sentimentogram restyle`, whole process (s)", lambda s: f"{s['restyle_command_s']:.1f}")]
    rows += [row(f"peak RSS, {k} (MiB)", lambda s, k=k: f"{s['peak_rss_mib'][k]:.0f}") for k in inputs[0]["peak_rss_mib"]]
    rows += [row(f"GPU, {c}: torch max allocated / nvidia-smi (MiB)", lambda s, c=c: gpu(s["gpu_mib"][c]))
             for c in inputs[0]["gpu_mib"] or {}]
    return ["", *report["inputs"]], rows


def about(report: dict) -> str:
    m = report["machine"]
    return (f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM{'; ' + '; '.join(m['gpus']) if m['gpus'] else ''}; "
            f"device {report['device']}; words from {report['asr_model']}; head: {report['head']}; load average "
            f"{m['load_average_at_start'][0]:.1f} at start, {m['load_average_at_end'][0]:.1f} at end; "
            f"medians of {'/'.join(str(s['repeats']) for s in report['inputs'].values())} repeats")


def print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    header, rows = table(report)
    out = Table(title="sentimentogram speed", caption=about(report), caption_justify="left")
    for name in header:
        out.add_column(name, no_wrap=True)
    for r in rows:
        out.add_row(*(cell.replace("**", "").replace("`", "") for cell in r))
    Console(width=None if sys.stdout.isatty() else 160).print(out)  # logs and pipes: rows unwrapped


def markdown_table(report: dict) -> str:
    header, rows = table(report)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]
    return "\n".join(lines + ["", f"Machine: {about(report)}.", "", f"Command: `{report['command']}`", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="*", type=Path, help=f"media files (default: {EXAMPLE.relative_to(ROOT)})")
    parser.add_argument("--short", action="store_true", help="CI mode: the example once, tiny.en for the words, no long input")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per input; medians are reported")
    parser.add_argument("--long-minutes", type=float, default=10.0, help="also this long a loop of the first input (0: none)")
    parser.add_argument("--long-repeats", type=int, default=1)
    parser.add_argument("--paper-groups", type=int, default=100, help="on the long input, time this many evenly spaced "
                        "word groups of the paper's approach and scale (0: all); other inputs run every group")
    parser.add_argument("--asr-model", help="Whisper model for the words (default: base; tiny.en with --short)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--head", type=Path, help="emotion head (default: the shipped one, else random weights)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--markdown", type=Path, help="also write the table here as Markdown")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _run_child(*args.child)
        return 0

    from rich.console import Console
    from sentimentogram_cli.devices import resolve_device

    args.device = resolve_device(args.device)
    args.asr_model = args.asr_model or ("tiny.en" if args.short else "base")
    # --short times 8 of the example's word groups of the paper's approach and scales (its cost is per group).
    inputs = [(p.resolve(), p.name, 1 if args.short else args.repeats, 8 if args.short else 0) for p in (args.inputs or [EXAMPLE])]
    report = {"machine": machine(args.device), "device": args.device, "asr_model": args.asr_model, "inputs": {},
              "command": " ".join(["python benchmarks/speed.py", *(sys.argv[1:] if argv is None else argv)])}
    with tempfile.TemporaryDirectory(prefix="sentimentogram-bench-") as tmp, Console(stderr=True).status("…") as status:
        workdir = Path(tmp)
        head, report["head"] = choose_head(args.head, workdir)
        if not args.short and args.long_minutes > 0:
            inputs.append((make_long_input(inputs[0][0], args.long_minutes, workdir), f"{args.long_minutes:g}-minute loop",
                           args.long_repeats, args.paper_groups))
        for path, label, repeats, groups in inputs:
            report["inputs"][label] = bench_input(path, label, args, head, workdir, status, repeats, groups)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    if args.markdown:
        args.markdown.write_text(markdown_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
