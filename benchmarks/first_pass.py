"""The render's first pass against faster-whisper's own transcribe of the whole file (issue 25):
windows decoded, words, failed segments, seconds, in one process with one loaded model.

    python benchmarks/first_pass.py                       # the 306 s talk: whole, as one from chunks, pieces
    python benchmarks/first_pass.py --talk 3 --pieces 60  # the 111 s talk; pieces of 60 s
    python benchmarks/first_pass.py talk.wav --pieces 90 120 180
    python benchmarks/first_pass.py --mel                 # only the log-mel: streamed against the extractor's

Sides (the model loaded once, with one CTranslate2 worker, as faster-whisper alone has; the
language given as ``en``, so no side pays for detecting it):

- **faster-whisper, whole file**: ``WhisperModel.transcribe`` of the whole array with the render's
  first-pass settings (``DecodeOptions``: VAD filter, beam, one temperature, no prompt);
- **as one, from chunks**: the render's first pass past ``PIECE_SECONDS`` (``decoding.decode`` of a
  ``stream.ChunkedAudio`` over 30 s chunks, Silero's regions given);
- **pieces of N s**: the first pass as it was before (cut at the quietest half second near each
  N s, ``transcribe._piece_bounds``; each piece's own Silero regions and decode).

``--mel`` decodes nothing: it makes the speech's log-mel as the render does (``stream.SpeechMel``
over the chunks, 30 s at a time) and as faster-whisper does (``FeatureExtractor`` over the whole
speech), and prints the CPU seconds of each (median of ``--repeats``; the render also pays
``mel_product``'s check once) and how many values differ.

Windows are the Whisper encoder calls; a failed segment is one ``guards.failure`` rejects (a
loop, or too many words for its speech), which the render's second pass then decodes again.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from sentimentogram_cli.constants import CHUNK_SAMPLES, SAMPLE_RATE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("media", nargs="?", help="a WAV file (default: --talk)")
    parser.add_argument("--talk", type=int, default=7, help="the first N talks of word_accuracy.py joined (7: 306 s)")
    parser.add_argument("--pieces", type=float, nargs="*", default=[120.0], help="piece lengths (s) to try")
    parser.add_argument("--mel", action="store_true", help="only the log-mel: streamed against the extractor's")
    parser.add_argument("--repeats", type=int, default=3, help="--mel: times each side is made (median CPU s)")
    args = parser.parse_args()
    import soundfile
    from faster_whisper import WhisperModel

    from sentimentogram_cli.assets import load_whisper
    from sentimentogram_cli.document import Word
    from sentimentogram_cli.transcription import transcribe as T
    from sentimentogram_cli.transcription.decoding import DecodeOptions, decode
    from sentimentogram_cli.transcription.guards import failure
    from sentimentogram_cli.transcription.speech import envelope
    from sentimentogram_cli.transcription.stream import ChunkedAudio
    from sentimentogram_cli.transcription.vad import speech_chunks, speech_probabilities

    if args.media:
        audio = soundfile.read(args.media, dtype="float32")[0]
    else:
        from render_vs_whisper import build_talk_file

        with tempfile.TemporaryDirectory() as tmp:
            audio = soundfile.read(build_talk_file(args.talk, Path(tmp))[0], dtype="float32")[0]
    if args.mel:
        return compare_mel(audio, args.repeats)
    windows = [0]
    encode = WhisperModel.encode

    @functools.wraps(encode)
    def counted(self, features):
        windows[0] += 1
        return encode(self, features)

    WhisperModel.encode = counted  # type: ignore[method-assign]
    model, options = load_whisper("base", "cpu", workers=1), DecodeOptions()
    chunks = [audio[i:i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)]

    def whole():
        pieces, _ = model.transcribe(audio, language="en", word_timestamps=True, vad_filter=True,
                                     vad_parameters=options.vad_parameters(), **options.whisper_kwargs())
        return [([Word(w.word, w.start, w.end, w.probability) for w in s.words or []], s.start, s.end)
                for s in pieces], audio

    def streamed():
        view = ChunkedAudio(chunks, len(audio))
        regions = speech_chunks(speech_probabilities(view), len(view), **options.vad_parameters())
        raw, _ = decode(model, view, "en", options, speech=regions)
        return [(s.words, s.start, s.end) for s in raw], audio

    def in_pieces(seconds: float):
        T.PIECE_SECONDS = seconds
        out = []
        for a, b in T._piece_bounds(chunks, len(audio)):
            piece = audio[a:b]
            regions = speech_chunks(speech_probabilities(piece), len(piece), **options.vad_parameters())
            raw, _ = decode(model, piece, "en", options, speech=regions, offset=a / SAMPLE_RATE)
            out += [(s.words, s.start, s.end) for s in raw]
        return out, audio

    env = envelope(audio)
    print(f"{len(audio) / SAMPLE_RATE:.0f} s of audio\n\n| first pass | wall s | CPU s | windows | segments | words | "
          "failed segments (their words) |\n|---|---|---|---|---|---|---|")
    sides = [("faster-whisper, whole file", whole), ("as one, from chunks", streamed)]
    sides += [(f"pieces of {s:.0f} s", functools.partial(in_pieces, s)) for s in args.pieces]
    for name, run in sides:
        windows[0] = 0
        t, c = time.perf_counter(), time.process_time()
        segments, _ = run()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        failed = [len(w) for w, a, b in segments if failure(w, env, a, b)]
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {windows[0]} | {len(segments)} | "
              f"{sum(len(w) for w, _, _ in segments)} | {len(failed)} ({sum(failed)}) |", flush=True)


def compare_mel(audio, repeats: int) -> None:
    """The speech's log-mel made as the render makes it and as faster-whisper makes it: CPU s, values
    that differ."""
    import statistics

    import numpy as np
    from faster_whisper.feature_extractor import FeatureExtractor
    from faster_whisper.vad import collect_chunks

    from sentimentogram_cli.transcription.decoding import DecodeOptions
    from sentimentogram_cli.transcription.mel_product import exact_here, openblas_threads
    from sentimentogram_cli.transcription.stream import ChunkedAudio, SpeechAudio, SpeechMel
    from sentimentogram_cli.transcription.vad import speech_chunks, speech_probabilities

    view = ChunkedAudio([audio[i:i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)], len(audio))
    regions = speech_chunks(speech_probabilities(view), len(view), **DecodeOptions().vad_parameters())
    extractor = FeatureExtractor()

    def timed(make):
        seconds = []
        for _ in range(repeats):
            c = time.process_time()
            out = make()
            seconds.append(time.process_time() - c)
        return out, statistics.median(seconds)

    c = time.process_time()
    exact_here(extractor.mel_filters, openblas_threads())  # once per process: the model against numpy's product
    check_s = time.process_time() - c
    want, whole_s = timed(lambda: extractor(np.concatenate(collect_chunks(audio, regions)[0])))
    mel, streamed_s = timed(lambda: SpeechMel(SpeechAudio(view, regions), extractor))
    got = mel[:, 0: mel.shape[1]]
    print(f"{len(audio) / SAMPLE_RATE:.0f} s of audio, {mel.n / SAMPLE_RATE:.0f} s of speech, {want.size:,} log-mel values\n\n"
          f"| log-mel | CPU s (median of {repeats}) |\n|---|---|\n"
          f"| faster-whisper's FeatureExtractor, whole speech | {whole_s:.2f} |\n"
          f"| stream.SpeechMel, 30 s at a time (the render) | {streamed_s:.2f} |\n"
          f"| mel_product's check of its model, once per process | {check_s:.2f} |\n\n"
          f"identical: {np.array_equal(got, want)} ({int((got != want).sum()):,} values differ)")


if __name__ == "__main__":
    main()
