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

from speed_children import _median  # noqa: E402  (the script folder is on sys.path)


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
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("speed_children.py").resolve()), name, str(spec_path)],
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


def choose_head(requested: Path | None, device: str) -> tuple[str | None, str]:
    """The head to run (None: the shipped one) and how to name it."""
    import sentimentogram_cli as sg

    version = sg.Analyser(device=device, head=requested).head.metadata.version
    return (str(requested) if requested else None), f"{'given' if requested else 'shipped'} head {version!r}"


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
             for k in ("decode", "transcribe", "speakers", "encode audio", "encode text", "emotion head", "prosody",
                       "page", "other")]
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
    parser.add_argument("--head", type=Path, help="emotion head (default: the shipped one)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--markdown", type=Path, help="also write the table here as Markdown")
    args = parser.parse_args(argv)

    from rich.console import Console

    import sentimentogram_cli as sg

    args.device = sg.Analyser(device=args.device).device
    args.asr_model = args.asr_model or ("tiny.en" if args.short else "base")
    # --short times 8 of the example's word groups of the paper's approach and scales (its cost is per group).
    inputs = [(p.resolve(), p.name, 1 if args.short else args.repeats, 8 if args.short else 0) for p in (args.inputs or [EXAMPLE])]
    report = {"machine": machine(args.device), "device": args.device, "asr_model": args.asr_model, "inputs": {},
              "command": " ".join(["python benchmarks/speed.py", *(sys.argv[1:] if argv is None else argv)])}
    with tempfile.TemporaryDirectory(prefix="sentimentogram-bench-") as tmp, Console(stderr=True).status("…") as status:
        workdir = Path(tmp)
        head, report["head"] = choose_head(args.head, args.device)
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
