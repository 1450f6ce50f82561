"""The emotion a viewer sees, against the figure `evaluate --protocol packed-speaker` reports.

Per corpus, UA of the same clips scored three ways, side by side:
- clips alone: each clip through render's emotion stage on its own (its own 30 s chunk of zero
  padding, its own normalisation, windows, words -> clip score: training.product_path);
- talks: the clips of one speaker joined into talks of about a minute (0.6 s pauses), each clip
  scored by its own words, as `render talk.mp4` scores each utterance;
- packed-speaker: the older protocol (a speaker's clips packed into 30 s chunks, centred on that
  speaker's mean over all of their clips).

Two sets of heads:
- validation speakers (RAVDESS 13-16, ASED 61-65): the head given (default: the shipped one),
  with the clips' transcripts where the corpus has them;
- leave-one-corpus-out: audio-only heads trained without the corpus (cached under .cache/heads),
  scored on a fixed sample of it (training.alone.product_sample), audio only.

``--recipe`` picks how the leave-one-corpus-out heads are trained (``packed``: the recipe of head v2;
``mix``: clips encoded alone added to the packed ones; ``mix-augment``: and each of them also
after a waveform condition); ``--k`` scores the product path with the
recording-mean weight shrunk as w·s/(s+k) (``--weight`` w), the head's own setting by default.
Everything it computes is cached (frames, heads), so a rerun costs the recognition only.

    python benchmarks/product_path.py --data ../shared/data --json reports/product_path.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentimentogram_cli.constants import CHUNK_SAMPLES  # noqa: E402
from sentimentogram_cli.emotion.features import AudioEncoder, TextEncoder  # noqa: E402
from sentimentogram_cli.emotion.head import EmotionHead  # noqa: E402
from sentimentogram_cli.emotion.recognise import encode_recording  # noqa: E402
from sentimentogram_cli.training.alone import alone_frames, encode_alone, product_sample  # noqa: E402
from sentimentogram_cli.training.augment import augmented_frames  # noqa: E402
from sentimentogram_cli.training.calibration import (calibrated_ece_floor, expected_calibration_error,  # noqa: E402
                                                      fit_temperature, softmax)
from sentimentogram_cli.training.corpora import load_clip_audio, read_clips  # noqa: E402
from sentimentogram_cli.training.data import TrainingData  # noqa: E402
from sentimentogram_cli.training.evaluation import clip_inputs, score  # noqa: E402
from sentimentogram_cli.training.extract import clip_frames  # noqa: E402
from sentimentogram_cli.training.product_path import ProductPath, talk_groups  # noqa: E402
from sentimentogram_cli.training.report import CORPORA, TEST_SPEAKERS, VALIDATION_SPEAKERS  # noqa: E402
from sentimentogram_cli.training.train import TrainSettings, cached_train_head  # noqa: E402

RECIPES = {
    "packed": TrainSettings(epochs=2, use_text=False, recording_mean_weight=0.5, recording_mean_seconds=0.0,
                            alone_repeat=0),
    "mix": TrainSettings(epochs=2, use_text=False, recording_mean_weight=1.0, recording_mean_seconds=20.0,
                         alone_repeat=3),
    # The mix, and each clip of it also shown once after a waveform condition (training.augment).
    "mix-augment": TrainSettings(epochs=2, use_text=False, recording_mean_weight=1.0, recording_mean_seconds=20.0,
                                 alone_repeat=3, augment_rate=1.0),
    # The mix with each speaker's packed clips capped per epoch (drawn afresh), so the 2 TESS and
    # 9 nEMO voices weigh less against ASED's 60; more epochs for about the same number of steps.
    "mix-cap60": TrainSettings(epochs=4, use_text=False, recording_mean_weight=1.0, recording_mean_seconds=20.0,
                               alone_repeat=3, clips_per_speaker=60),
    "mix-cap150": TrainSettings(epochs=3, use_text=False, recording_mean_weight=1.0, recording_mean_seconds=20.0,
                                alone_repeat=3, clips_per_speaker=150),
    # Half the clips centred on themselves, as render centres one short clip, half on their speaker.
    "self-centred": TrainSettings(epochs=2, use_text=False, recording_mean_weight=1.0,
                                  recording_mean_seconds=20.0, self_centred_rate=0.5),
    "self-centred-all": TrainSettings(epochs=2, use_text=False, recording_mean_weight=1.0,
                                      recording_mean_seconds=20.0, self_centred_rate=1.0),
}


def _progress(done: int, total: int) -> None:
    print(f"augmented clips encoded alone: {done}/{total}", flush=True)


def audio_data(data_dir: Path, cache_dir: Path) -> TrainingData:
    """The clips and their packed frames only (audio-only heads read no text)."""
    clips = read_clips(data_dir / "emotional_speech" / "labels.csv")
    encoder = AudioEncoder()
    frames = clip_frames(clips, encoder, cache_dir)
    return TrainingData(clips, frames, None, {}, encoder.identity, "none")


def ua_of(head, probs: np.ndarray, labels: list[str]) -> dict:
    y = np.array([head.labels.index(label) for label in labels])
    result = score(head, probs, labels)
    return {"ua": result["ua"], "wa": result["wa"], "n": len(labels),
            "ece": expected_calibration_error(probs, y)}


def with_weight(head, weight: float | None, k: float | None, temperature: float | None = None):
    if temperature is not None:
        head.metadata.temperature = temperature
    if weight is not None:
        head.metadata.recording_mean_weight = weight
    if k is not None:
        head.metadata.recording_mean_seconds = k
    return head


def three_ways(head, data, path: ProductPath, indices: list[int], use_text: bool, talks: bool,
               noisy: ProductPath | None = None) -> dict:
    """``noisy``: the same path reading the clips' augmented audio (adds "alone_noisy")."""
    clips = data.clips
    labels = [clips[i].label for i in indices]
    alone = path.clips(clips, indices, use_text=use_text)
    row = {"alone": ua_of(head, alone.probabilities, labels),
           "alone_audio_gate": float(alone.gates[:, 1].mean()),
           "_probs": alone.probabilities, "_y": np.array([head.labels.index(label) for label in labels])}
    if noisy is not None:
        row["alone_noisy"] = ua_of(head, noisy.clips(clips, indices, use_text=use_text).probabilities, labels)
    if talks:
        order, talk = path.talks(clips, talk_groups(clips, indices), use_text=use_text)
        row["talks"] = ua_of(head, talk.probabilities, [clips[i].label for i in order])
    packed = clip_inputs(head, data, indices, "none")
    p = head.predict(packed.text, packed.audio).probabilities
    row["packed"] = ua_of(head, p, labels)
    return row


def costs(data, encoder, indices: list[int]) -> dict:
    """Encoder CPU seconds per clip, each way (one run, the same clips)."""
    audio = [load_clip_audio(data.clips[i].path) for i in indices]
    t = time.process_time()
    for a in audio:
        encode_alone(a, encoder)
    alone = (time.process_time() - t) / len(audio)
    t = time.process_time()
    encoder.encode_clips(audio)
    packed = (time.process_time() - t) / len(audio)
    talk = np.concatenate([np.concatenate([a, np.zeros(9600, np.float32)]) for a in audio])
    t = time.process_time()
    encode_recording([talk[s: s + CHUNK_SAMPLES] for s in range(0, len(talk), CHUNK_SAMPLES)], len(talk), encoder)
    return {"alone": alone, "packed": packed, "talk": (time.process_time() - t) / len(audio),
            "seconds_of_audio_per_clip": float(np.mean([len(a) for a in audio]) / 16000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".cache/features"))
    parser.add_argument("--heads", type=Path, default=Path(".cache/heads/product"))
    parser.add_argument("--head", type=Path, default=None, help="head for the validation speakers (default: shipped)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="packed")
    parser.add_argument("--weight", type=float, default=None, help="recording-mean weight w (default: the head's)")
    parser.add_argument("--k", type=float, nargs="*", default=[None],
                        help="shrinkage k in seconds, one run each (default: the head's)")
    parser.add_argument("--temperature", type=float, default=None, help="for the validation head (default: its own)")
    parser.add_argument("--no-talks", action="store_true")
    parser.add_argument("--noisy", action="store_true",
                        help="also score the leave-one-corpus-out clips alone after a waveform condition")
    parser.add_argument("--no-loco", action="store_true")
    parser.add_argument("--corpora", nargs="*", default=list(CORPORA))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--probabilities", type=Path, default=None,
                        help="also write each left-out clip's probabilities and label (.npz, one pair per corpus)")
    args = parser.parse_args()

    data = audio_data(args.data, args.cache)
    clips = data.clips
    sample = product_sample(clips, VALIDATION_SPEAKERS, TEST_SPEAKERS)
    encoder = AudioEncoder()
    needed = sample if not args.no_loco else [i for i in sample if clips[i].speaker in VALIDATION_SPEAKERS]
    alone = alone_frames(clips, needed, encoder, args.cache)  # encode what is missing, once
    data.alone = {i: alone[i] for i in needed if clips[i].speaker not in VALIDATION_SPEAKERS | TEST_SPEAKERS}
    if RECIPES[args.recipe].augment_rate or args.noisy:
        data.augmented = augmented_frames(clips, sorted(data.alone), encoder, args.cache,
                                          frozenset(VALIDATION_SPEAKERS | TEST_SPEAKERS), progress=_progress)
    text_encoder = TextEncoder(delta=TextEncoder.check_identity(EmotionHead.load(args.head).metadata.text_encoder))
    result = {"recipe": args.recipe, "weight": args.weight, "runs": []}
    for k in args.k:
        run = {"k": k, "validation": {}, "loco": {}}
        head = with_weight(EmotionHead.load(args.head), args.weight, k, args.temperature)
        path = ProductPath(head, encoder, text_encoder, args.cache)
        path.alone = alone
        for corpus in ("ravdess", "ased"):
            idx = [i for i in sample if clips[i].speaker in VALIDATION_SPEAKERS and clips[i].corpus == corpus]
            run["validation"][corpus] = three_ways(head, data, path, idx, False, not args.no_talks)
            with_words = path.clips(clips, idx, use_text=True)
            run["validation"][corpus]["alone_with_transcript"] = ua_of(head, with_words.probabilities,
                                                                       [clips[i].label for i in idx])
        if not args.no_loco:
            for corpus in args.corpora:
                train = [i for i, c in enumerate(clips) if c.corpus != corpus
                         and c.speaker not in VALIDATION_SPEAKERS | TEST_SPEAKERS]
                settings = RECIPES[args.recipe]
                loco = cached_train_head(data, train, settings, args.heads / args.recipe)
                loco = with_weight(loco, args.weight, k)
                idx = [i for i in sample if clips[i].corpus == corpus]
                path = ProductPath(loco, encoder, text_encoder, args.cache)
                path.alone = alone
                noisy = None
                if args.noisy:
                    noisy = ProductPath(loco, encoder, text_encoder, args.cache)
                    noisy.alone = data.augmented
                run["loco"][corpus] = three_ways(loco, data, path, idx, False, not args.no_talks, noisy)
                print(corpus, json.dumps({k: v for k, v in run["loco"][corpus].items() if not k.startswith("_")}),
                      flush=True)
        if run["loco"]:
            run["calibration"] = product_calibration(run["loco"])
            if args.probabilities:
                arrays = {f"{c}_{part}": row[f"_{part}"] for c, row in run["loco"].items() for part in ("probs", "y")}
                args.probabilities.parent.mkdir(parents=True, exist_ok=True)
                np.savez(args.probabilities, **arrays)
        result["runs"].append(run)
        print_run(run)
        for rows in (run["validation"], run["loco"]):
            for row in rows.values():
                row.pop("_probs", None), row.pop("_y", None)
    result["cost_cpu_seconds_per_clip"] = costs(data, encoder, sample[:8])
    print("encoder CPU seconds per clip:", json.dumps(result["cost_cpu_seconds_per_clip"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


def product_calibration(loco: dict) -> dict:
    """One temperature for what render outputs, fitted on the clip scores of the clips alone
    (log of the averaged probabilities; leave-one-corpus-out heads at T = 1): for each corpus,
    fitted on the other corpora and scored on it (ECE); and one on all of them, to ship."""
    out = {"ece_t1": {}, "ece_loco_t": {}, "t_loco": {}}
    logs = {c: np.log(np.clip(row["_probs"], 1e-9, None)) for c, row in loco.items()}
    for corpus, row in loco.items():
        others = [c for c in loco if c != corpus]
        t = fit_temperature(np.concatenate([logs[c] for c in others]), np.concatenate([loco[c]["_y"] for c in others]))
        out["t_loco"][corpus] = t
        out["ece_t1"][corpus] = expected_calibration_error(softmax(logs[corpus]), row["_y"])
        out["ece_loco_t"][corpus] = expected_calibration_error(softmax(logs[corpus], t), row["_y"])
    out["t_all"] = fit_temperature(np.concatenate(list(logs.values())), np.concatenate([r["_y"] for r in loco.values()]))
    out["mean_ece_t1"] = float(np.mean(list(out["ece_t1"].values())))
    out["mean_ece_loco_t"] = float(np.mean(list(out["ece_loco_t"].values())))
    # Every left-out clip at once, each scaled by its own corpus's temperature (fitted without it),
    # and the ECE a perfectly calibrated model would still show on as many clips (the noise floor).
    scaled = {c: softmax(logs[c], out["t_loco"][c]) for c in loco}
    out["ece_floor"] = {c: calibrated_ece_floor(p) for c, p in scaled.items()}
    pooled = np.concatenate(list(scaled.values()))
    out["pooled_ece_loco_t"] = expected_calibration_error(pooled, np.concatenate([r["_y"] for r in loco.values()]))
    out["pooled_ece_floor"] = calibrated_ece_floor(pooled)
    return out


def print_run(run: dict) -> None:
    print(f"\nk = {run['k']}")
    print("| set | corpus | n | clips alone | talks | packed-speaker | gap | ECE alone | alone, with transcript |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rows in (("validation speakers", run["validation"]), ("leave-one-corpus-out", run["loco"])):
        for corpus, row in rows.items():
            talks = f"{row['talks']['ua']:.1%}" if "talks" in row else "—"
            print(f"| {name} | {corpus} | {row['alone']['n']} | {row['alone']['ua']:.1%} | {talks} | "
                  f"{row['packed']['ua']:.1%} | {row['packed']['ua'] - row['alone']['ua']:+.1%} | "
                  f"{row['alone']['ece']:.3f} | "
                  + (f"{row['alone_with_transcript']['ua']:.1%} |" if "alone_with_transcript" in row else "— |"))
    if run["loco"]:
        for way in ("alone", "alone_noisy", "talks", "packed"):
            values = [row[way]["ua"] for row in run["loco"].values() if way in row]
            if values:
                print(f"leave-one-corpus-out mean, {way}: {np.mean(values):.1%}")
    if "calibration" in run:
        cal = run["calibration"]
        print(f"product path ECE, leave-one-corpus-out: {cal['mean_ece_t1']:.3f} at T = 1, "
              f"{cal['mean_ece_loco_t']:.3f} with T fitted on the other corpora; T on all: {cal['t_all']:.2f}")
        floors = ", ".join(f"{c} {cal['ece_loco_t'][c]:.3f} (floor {f:.3f})" for c, f in cal["ece_floor"].items())
        print(f"per corpus: {floors}; all left-out clips pooled: {cal['pooled_ece_loco_t']:.3f} "
              f"(floor {cal['pooled_ece_floor']:.3f})")


if __name__ == "__main__":
    main()
