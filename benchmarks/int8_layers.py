#!/usr/bin/env python
"""The emotion stage's Whisper layers in dynamic int8: CPU saved against emotions moved (issue 25).

    python benchmarks/int8_layers.py --data ../shared/data            # all three parts
    python benchmarks/int8_layers.py --data ../shared/data --skip words

The candidate: ``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear`` of the torch
Whisper layers (``WhisperLayerEncoder.quantised``); the head was trained on float32 frames. Three
parts, each float32 against int8 with everything else the same:

- **cost**: the audio encoder's CPU seconds over the 111 s talk of ``render_vs_whisper.py``
  (``word_accuracy.joined_talks``, first 3 talks), and each layer's relative error
  ||int8 - float32|| / ||float32|| on its frames;
- **words** (the choice is not made here: these are RAVDESS actors 17-20, the test speakers):
  ``word_accuracy.py --quick --windows utterance`` with each encoder (transcripts from its cache,
  so the words are the same by construction; only the emotion stage differs);
- **validation**: the held-out product path's validation speakers (RAVDESS 13-16, ASED 61-65),
  each clip alone as ``render`` scores it (``training.product_path``), audio only and with the
  clip's transcript: unweighted accuracy per corpus. The int8 frames are cached apart
  (``--cache``/int8), the float32 ones where ``product_path.py`` keeps them.

Keep int8 only if the emotion figures move by less than 1 point (issue 25); the head, trained on
float32 frames, is not retrained for it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def int8(encoder):
    """The audio encoder with its layers in dynamic int8, under an identity of its own (caches)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notice for quantized tensors
        encoder.model = encoder.model.quantised()
    encoder.identity += "+int8-dynamic"
    return encoder


def cost() -> None:
    from word_accuracy import joined_talks

    from sentimentogram_cli.emotion.features import AudioEncoder
    from sentimentogram_cli.emotion.head import EmotionHead
    from sentimentogram_cli.media import decode_audio

    layers = tuple(EmotionHead.load().metadata.audio_layers)
    audio = joined_talks(decode_audio, 3)
    frames, seconds = {}, {}
    for name in ("float32", "int8"):
        encoder = AudioEncoder(layers=layers)
        if name == "int8":
            encoder = int8(encoder)
        encoder.encode(audio[: 2 * 16000])  # warm-up
        t = time.process_time()
        frames[name] = encoder.encode(audio)
        seconds[name] = time.process_time() - t
    dim = frames["float32"].shape[1] // len(layers)
    errors = [np.linalg.norm(frames["int8"][:, k * dim:(k + 1) * dim] - frames["float32"][:, k * dim:(k + 1) * dim])
              / np.linalg.norm(frames["float32"][:, k * dim:(k + 1) * dim]) for k in range(len(layers))]
    print(f"\n### cost: audio encoder over the {len(audio) / 16000:.0f} s talk\n")
    print("| layers | CPU s | relative error by layer (" + ", ".join(map(str, layers)) + ") |\n|---|---|---|")
    print(f"| float32 | {seconds['float32']:.2f} | — |")
    print(f"| int8 | {seconds['int8']:.2f} | " + ", ".join(f"{e:.1%}" for e in errors) + " |")


def words() -> None:
    import word_accuracy

    load = word_accuracy.load_models
    for name in ("float32", "int8"):
        if name == "int8":
            word_accuracy.load_models = lambda device="cpu": (lambda h, a, t: (h, int8(a), t))(*load(device))
        print(f"\n### words: word_accuracy.py --quick --windows utterance, {name} layers")
        word_accuracy.main(["--quick", "--windows", "utterance"])
    word_accuracy.load_models = load


def validation(data_dir: Path, cache: Path) -> None:
    from sentimentogram_cli.emotion.features import AudioEncoder, TextEncoder
    from sentimentogram_cli.emotion.head import EmotionHead
    from sentimentogram_cli.training.corpora import read_clips
    from sentimentogram_cli.training.evaluation import score
    from sentimentogram_cli.training.product_path import ProductPath
    from sentimentogram_cli.training.report import VALIDATION_SPEAKERS

    clips = read_clips(data_dir / "emotional_speech" / "labels.csv")
    head = EmotionHead.load()
    text = TextEncoder.for_head(head.metadata.text_encoder)
    print("\n### validation speakers: clips alone (UA, %)\n")
    print("| layers | corpus | clips | audio only | with transcript |\n|---|---|---|---|---|")
    for name in ("float32", "int8"):
        encoder = AudioEncoder(layers=tuple(head.metadata.audio_layers))
        folder = cache
        if name == "int8":
            encoder, folder = int8(encoder), cache / "int8"
        path = ProductPath(head, encoder, text, folder)
        for corpus in ("ravdess", "ased"):
            idx = [i for i, c in enumerate(clips) if c.speaker in VALIDATION_SPEAKERS and c.corpus == corpus]
            labels = [clips[i].label for i in idx]
            with contextlib.redirect_stdout(io.StringIO()):
                ua = [score(head, path.clips(clips, idx, use_text=t).probabilities, labels)["ua"] for t in (False, True)]
            print(f"| {name} | {corpus} | {len(idx)} | {ua[0]:.1%} | {ua[1]:.1%} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "features")
    parser.add_argument("--skip", nargs="*", default=[], choices=("cost", "words", "validation"))
    args = parser.parse_args()
    if "cost" not in args.skip:
        cost()
    if "words" not in args.skip:
        words()
    if "validation" not in args.skip:
        validation(args.data, args.cache)


if __name__ == "__main__":
    main()
