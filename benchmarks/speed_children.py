#!/usr/bin/env python
"""One measured configuration of benchmarks/speed.py, run in a process of its own so that its
peak RSS is its own: ``python benchmarks/speed_children.py NAME SPEC.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]  # run from a checkout, uninstalled
BEAM_SIZE = 5  # faster-whisper's default, which transcribe.py leaves in place
WARMUP_SECONDS = 5.0


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
    """An Analyser with every model loaded, and the seconds each took."""
    import sentimentogram_cli as sg

    load, t0 = {}, time.perf_counter()
    analyser = sg.Analyser(device=spec["device"], asr_model=spec["asr_model"], head=spec["head"])
    for name, attr in (("emotion head", "head"), ("whisper (audio encoder)", "audio_encoder"), ("text encoder", "text_encoder")):
        getattr(analyser, attr)
        load[name], t0 = time.perf_counter() - t0, time.perf_counter()
    return analyser, load


def _warm_up(analyser, audio, transcribe=None) -> None:
    """First calls allocate buffers and pick kernels: pay that before the timed runs."""
    import sentimentogram_cli as sg

    clip = audio[: int(WARMUP_SECONDS * sg.SAMPLE_RATE)]
    if transcribe:
        list(transcribe(clip, word_timestamps=True, vad_filter=True, beam_size=BEAM_SIZE)[0])
    words = [sg.Word(" warm", 0.5, 1.0, 1.0), sg.Word(" up", 1.0, 1.5, 1.0)]
    analyser.recognise(clip, [sg.Segment(0.5, 1.5, "warm up", words)])


def child_render(spec: dict) -> dict:
    """Full render (cold analysis cache), interleaved with faster-whisper alone on the same
    loaded model; then renders whose analysis comes from the cache (restyle from the cache)."""
    import sentimentogram_cli as sg

    analyser, load = _load_models(spec)
    t0 = time.perf_counter()
    asr = analyser.whisper  # the model the render transcribes with (the audio encoder's own when equal)
    load["whisper (asr)"], t0 = time.perf_counter() - t0, time.perf_counter()
    baseline = asr.transcribe
    _warm_up(analyser, sg.decode_audio(spec["input"]), baseline)
    load["warm-up"] = time.perf_counter() - t0

    busy: dict[str, float] = {}
    for obj, name in ((analyser.audio_encoder, "encode"), (analyser.text_encoder, "embed"), (analyser.head, "predict")):
        _count_time(obj, name, busy)
    ours: dict = {}
    from sentimentogram_cli.transcription import transcribe as first_pass

    decode = first_pass.decode  # the render's first pass (Silero's regions given, or its VAD filter run)

    def recorded(model, audio, language, options, **kw):
        ours.update(beam_size=options.beam_size, word_timestamps=True, vad_filter=kw.get("vad_filter", True))
        return decode(model, audio, language, options, **kw)

    first_pass.decode = recorded  # record our settings
    settings = {"word_timestamps": True, "vad_filter": True, "beam_size": BEAM_SIZE}
    work = Path(spec["workdir"])
    output = sg.OutputOptions(out=work / "page.html", formats=("html", "json"))
    render = lambda cache, culture="western": sg.render(spec["input"], analyser=analyser, style=sg.Style(culture),  # noqa: E731
                                                         output=output, cache=cache, force=True)
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
            result = render(work / f"cache{rep}")
            wall = time.perf_counter() - t0
            cpu["render"].append(_cpu() - c0)
            assert result.status == "rendered", result.status
            s, audio_s, text_s = result.stage_seconds, busy.get("encode", 0.0), busy.get("embed", 0.0)
            renders.append({"decode": s["decode"], "transcribe": s["transcribe"],
                            "speakers": s.get("speakers", 0.0), "encode audio": audio_s,
                            "encode text": text_s, "emotion head": s["emotions"] - audio_s - text_s,
                            "prosody": s.get("prosody", 0.0), "page": s["page"],
                            "other": wall - sum(s.values()), "total": wall})
    cached = []
    for culture in ("eastern", "accessible", "western"):  # the cache of the last render holds the analysis
        t0 = time.perf_counter()
        again = render(work / f"cache{rep}", culture)
        cached.append(time.perf_counter() - t0)
        assert again.status == "restyled", again.status
    defaults = {"beam_size": BEAM_SIZE, "word_timestamps": False, "vad_filter": False}  # faster-whisper's
    return {"renders": renders, "asr_alone": alone, "cpu": cpu, "cached_render": cached, "load": load, "duration": result.duration,
            "words": result.n_words, "baseline_words": baseline_words, "language": result.language,
            "analysis": str(next(p for p in result.outputs if p.suffix == ".json")),
            "asr_settings": {"ours": {k: ours.get(k, v) for k, v in defaults.items()}, "baseline": settings}}


def child_asr(spec: dict) -> dict:
    """faster-whisper alone in a fresh process: its own load time and peak memory."""
    import sentimentogram_cli as sg

    t0 = time.perf_counter()
    model = sg.Analyser(device=spec["device"], asr_model=spec["asr_model"], head=spec["head"]).whisper
    load, times = time.perf_counter() - t0, []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        pieces, _ = model.transcribe(spec["input"], word_timestamps=True, vad_filter=True, beam_size=BEAM_SIZE)
        sum(len(p.words or []) for p in pieces)
        times.append(time.perf_counter() - t0)
    return {"load": load, "times": times}


def child_emotions(spec: dict) -> dict:
    """Our emotion stage against the paper's per-group approach: same words, interleaved."""
    from paper_reference import paper_emotions, sample_groups, word_groups, write_wav

    import sentimentogram_cli as sg

    analyser, load = _load_models(spec)
    audio = sg.decode_audio(spec["input"])
    lines = sg.Analysis.load(spec["analysis"]).lines  # the words the render found
    segments = [sg.Segment(ln.start, ln.end, ln.text, [sg.Word(w.text, w.start, w.end, w.probability) for w in ln.words])
                for ln in lines]
    words = [w for s in segments for w in s.words]
    wav = write_wav(audio, Path(spec["workdir"]) / "audio16k.wav")
    groups = word_groups(words)
    timed = sample_groups(groups, spec["paper_groups"])
    _warm_up(analyser, audio)
    paper = lambda gs: paper_emotions(wav, words, analyser.head, analyser.audio_encoder, analyser.text_encoder, groups=gs)  # noqa: E731
    paper(timed[:1])
    windows = _count_windows(analyser, lambda: analyser.recognise(audio, segments))
    times = {"ours": [], "paper": []}
    for rep in range(spec["repeats"]):
        for side in (("ours", "paper") if rep % 2 == 0 else ("paper", "ours")):
            t0 = time.perf_counter()
            analyser.recognise(audio, segments) if side == "ours" else paper(timed)
            # A sample of groups costs in proportion: every group is one call of each model.
            times[side].append((time.perf_counter() - t0) * (1 if side == "ours" else len(groups) / len(timed)))
    return {**times, "load": load, "groups": len(groups), "groups_timed": len(timed), "windows": windows}


def _count_windows(analyser, run) -> int:
    """How many windows the head classifies in ``run()`` (it is given one input per window)."""
    head, seen = analyser.head, []
    inner = head.predict
    head.predict = lambda tokens, audio: (seen.append(len(tokens)), inner(tokens, audio))[1]
    try:
        run()
    finally:
        head.predict = inner
    return sum(seen)


def child_restyle(spec: dict) -> dict:
    """The restyle command's work in-process (``sentimentogram_cli.restyle``): the page from the
    document alone."""
    import sentimentogram_cli as sg

    output, times = sg.OutputOptions(out=Path(spec["workdir"]) / "restyled.html"), []
    for _ in range(max(3, spec["repeats"])):  # cheap: a few runs steady the median
        t0 = time.perf_counter()
        sg.restyle(spec["analysis"], style=sg.Style("eastern"), output=output, media=spec["input"])
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


if __name__ == "__main__":
    _run_child(*sys.argv[1:3])
