#!/usr/bin/env python
"""Where a render's time goes: wall and CPU seconds (and system time, page faults) of each model
call inside one process's analyses, by wrapping the functions that do the work.

    python benchmarks/profile_render.py talk.wav                    # one file, models loaded in it
    python benchmarks/profile_render.py "clips/*.opus"              # many: the first warms the models up
    python benchmarks/profile_render.py talk.wav --asr-model tiny.en --language en
    python benchmarks/profile_render.py --talk 3 --serial --json a.json   # the issue-25 talk (111 s)

``--talk N``: the first N talks of ``word_accuracy.py`` joined (``render_vs_whisper.py``'s talk;
3 is 111 s). ``--serial``: the emotion encoders load, and the recording's emotion frames are
made, in their stage instead of on threads beside the transcription, so each call's CPU seconds are
its own. ``--json``: the analyses written out, to check
that a change leaves words, times and emotions as they were. ``--checkout DIR``: another
checkout's code (calls it lacks are left out of the table).

CPU seconds (``time.process_time``: every thread of the process) are the steadier figure on a
shared machine; wall seconds include waiting for a core. Calls nest (``transcribe`` holds
``decode`` and the second pass), so the rows do not add up. With several files, the first is
analysed before the clock starts (models loaded and warm) and the figures are per file. For a
sampling profile of the same, run it under py-spy (``py-spy record -o out.svg -- python ...``).
"""

from __future__ import annotations

import argparse
import collections
import functools
import glob
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T0, C0 = time.perf_counter(), time.process_time()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (module, function or Class.method): the calls that hold a render's work.
CALLS = [
    ("sentimentogram_cli.transcription.transcribe", "load_whisper"),
    ("sentimentogram_cli.transcription.transcribe", "speech_stretches"),
    ("sentimentogram_cli.transcription.transcribe", "detect_language"),
    ("sentimentogram_cli.transcription.transcribe", "decode"),
    ("sentimentogram_cli.transcription.transcribe", "_second_pass"),
    ("sentimentogram_cli.transcription.decoding", "decode"),
    ("sentimentogram_cli.transcription.speech", "vad_regions"),
    ("faster_whisper.vad", "SileroVADModel.__call__"),
    ("sentimentogram_cli.transcription.transcribe", "_repaired"),
    ("sentimentogram_cli.emotion.head", "EmotionHead.load"),
    ("sentimentogram_cli.emotion.features", "AudioEncoder.__init__"),
    ("sentimentogram_cli.assets", "_verified_bytes"),
    ("sentimentogram_cli.emotion.features", "whisper_model_buffer"),
    ("sentimentogram_cli.emotion.features", "read_ctranslate2_variables"),
    ("sentimentogram_cli.emotion.features", "TextEncoder.__init__"),
    ("sentimentogram_cli.emotion.features", "minilm_dir"),
    ("sentimentogram_cli.emotion.features", "apply_text_delta"),
    ("sentimentogram_cli.emotion.features", "AudioEncoder.encode"),
    ("sentimentogram_cli.speakers.encoder", "SpeakerEncoder.__init__"),
    ("sentimentogram_cli.speakers.encoder", "SpeakerEncoder.embed"),
    ("sentimentogram_cli.emotion.recognise", "encode_recording"),
    ("sentimentogram_cli.emotion.features", "TextEncoder.embed"),
    ("sentimentogram_cli.emotion.head", "EmotionHead.predict"),
    ("sentimentogram_cli.analyser", "Analyser._transcribe"),
    ("sentimentogram_cli.analyser", "Analyser._speakers"),
    ("sentimentogram_cli.analyser", "Analyser._recognise"),
    ("sentimentogram_cli.analyser", "Analyser._prosody"),
]
_acc: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0])


def _wrap(module: str, name: str) -> None:
    try:
        owner = importlib.import_module(module)
    except ImportError:
        return
    attr = name
    if "." in name:
        cls, attr = name.split(".")
        owner = getattr(owner, cls, None)
    fn = getattr(owner, attr, None) if owner is not None else None
    if fn is None:
        return
    label = f"{module.rsplit('.', 1)[-1]}.{name}"

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        t, c, ru = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
        try:
            return fn(*args, **kwargs)
        finally:
            after = resource.getrusage(resource.RUSAGE_SELF)
            row = _acc[label]
            row[0] += time.perf_counter() - t
            row[1] += time.process_time() - c
            row[2] += after.ru_stime - ru.ru_stime
            row[3] += after.ru_minflt - ru.ru_minflt
            row[4] += 1

    if isinstance(owner.__dict__.get(attr) if hasattr(owner, "__dict__") else None, classmethod):
        setattr(owner, attr, classmethod(lambda cls, *a, **k: timed(*a, **k)))
    else:
        setattr(owner, attr, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("media", nargs="?", help="a file, or a glob of files (quote it)")
    parser.add_argument("--talk", type=int, help="instead of media: the first N talks of word_accuracy.py joined")
    parser.add_argument("--asr-model", default="base")
    parser.add_argument("--language", default=None)
    parser.add_argument("--serial", action="store_true",
                        help="load the emotion encoders and make the frames in their stage, not on threads, so "
                             "that each call's CPU seconds are its own (process CPU counts every thread)")
    parser.add_argument("--json", type=Path, help="also write the analyses here (to check that a change "
                        "leaves words, times and emotions as they were)")
    parser.add_argument("--checkout", type=Path, default=None,
                        help="profile the sentimentogram_cli of this checkout (e.g. an older commit, for a before/after)")
    args = parser.parse_args()
    if args.checkout:
        sys.path.insert(0, str(args.checkout.resolve()))
    if (args.media is None) == (args.talk is None):
        parser.error("give media or --talk N")
    if args.talk:  # built by a child process: its imports and work stay out of this one's figures
        folder = Path(tempfile.mkdtemp(prefix="profile-talk-"))
        build = ("import sys; from pathlib import Path; sys.path[:0] = [sys.argv[1]]; "
                 "from render_vs_whisper import build_talk_file; "
                 "print(build_talk_file(int(sys.argv[2]), Path(sys.argv[3]))[0])")
        args.media = subprocess.run([sys.executable, "-c", build, str(ROOT / "benchmarks"), str(args.talk), str(folder)],
                                    check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    files = sorted(glob.glob(args.media)) or [args.media]
    for module in ("torch", "faster_whisper"):  # the heavy imports a render pays, each on its own
        t, c = time.perf_counter(), time.process_time()
        importlib.import_module(module)
        print(f"import {module}: {time.perf_counter() - t:.1f} s wall, {time.process_time() - c:.1f} CPU s")
    for module, name in CALLS:
        _wrap(module, name)
    print(f"imports: {time.perf_counter() - T0:.1f} s wall, {time.process_time() - C0:.1f} CPU s")

    from sentimentogram_cli.analyser import Analyser, AnalysisOptions, StageTimer

    analyser = Analyser("cpu", args.asr_model)
    if args.serial:
        class _Nothing:  # a thread that has nothing to do: the stage loads the encoders, encodes, itself
            def result(self, timeout=None) -> None:
                pass

        analyser._preload_emotion_encoders = _Nothing  # type: ignore[method-assign]
        analyser._encode_ahead = lambda *args: _Nothing()  # type: ignore[method-assign]
    if len(files) > 1:
        analyser.analyse(files[0], AnalysisOptions(language=args.language))
        _acc.clear()
        files = files[1:]
    timer = StageTimer()
    t, c = time.perf_counter(), time.process_time()
    words, analyses = 0, []
    for f in files:
        analysis = analyser.analyse(f, AnalysisOptions(language=args.language), progress=timer)
        words += len(analysis.words)
        analyses.append(analysis.to_dict())
    n = len(files)
    print(f"analyses: {(time.perf_counter() - t) / n:.2f} s wall, {(time.process_time() - c) / n:.2f} CPU s per file "
          f"({n} file(s), {words} words)")
    print("stage timers (wall s per file): " + " · ".join(f"{k} {v / n:.2f}" for k, v in timer.seconds.items()))
    print("\n| call | calls per file | wall s | CPU s | of which system | page faults (k) |\n|---|---|---|---|---|---|")
    for label, (wall, cpu, system, faults, calls) in _acc.items():
        print(f"| {label} | {calls / n:.1f} | {wall / n:.2f} | {cpu / n:.2f} | {system / n:.2f} | {faults / n / 1000:.0f} |")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\nwhole process: {time.perf_counter() - T0:.1f} s wall, {time.process_time() - C0:.1f} CPU s "
          f"({ru.ru_stime:.1f} system), {ru.ru_minflt / 1000:.0f}k page faults, peak RSS {ru.ru_maxrss / 1024:.0f} MiB")
    heavy = ("transformers", "sklearn", "scipy", "sympy", "torch._dynamo")
    print("heavy modules imported: " + (", ".join(m for m in heavy if m in sys.modules) or "none of " + ", ".join(heavy)))
    if args.json:
        args.json.write_text(json.dumps(analyses, indent=1) + "\n")


if __name__ == "__main__":
    main()
