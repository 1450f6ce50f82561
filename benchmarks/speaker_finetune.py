"""The GE2E speaker encoder fine-tuned on emotional speech (issue 21): measured, not shipped.

    python benchmarks/speaker_finetune.py                           # 200 steps; alphas 0 0.15 0.3 0.5 1
    python benchmarks/speaker_finetune.py --steps 400 --alphas 0 0.1 0.2
    python benchmarks/speaker_finetune.py --validation-draws 5   # alphas judged on 6 draws of validation

The tuned weights are cached in .cache/speaker_finetune/ (one file per steps, lr and seed).

Why: the two-speaker misses of ``benchmarks/speakers.py`` are same-gender pairs counted as one
voice, while a monologue's emotions spread one voice apart; with the number of speakers given,
WDER is 1.2%. So the count is the embedding's limit on acted emotional speech, and the question is
whether the encoder itself can be taught to keep a voice together across its emotions.

Training speakers are those of ``scripts/fit_speaker_projection.py`` (RAVDESS actors 17-20,
ASED's 65 speakers, TurEV's 6: none of them in the benchmark's sets; RAVDESS 21-24, the emotion
model's test actors, are left out), every clip trimmed like the
dialogues' turns, each step 16 speakers x 6 crops of 0.7-1.6 s (a dialogue piece's length) from
clips of any emotion; GE2E's softmax loss (Wan et al., ICASSP 2018: each crop against every
speaker's centroid, its own centroid without itself, learned scale and bias); Adam at ``--lr``,
gradients clipped at 3, one CPU thread (an LSTM's small kernels). The fine-tuned weights are then
mixed with the shipped ones, ``(1 - alpha) * shipped + alpha * tuned`` (WiSE-FT, Wortsman et al.
2022: it keeps what the original encoder knew of other voices), the shipped projection applied,
and each alpha judged as ``speakers.py`` judges the shipped encoder: average linkage, the merge
distance chosen on the validation set (recordings counted right, then WDER), the report set
printed beside it. alpha 0 is the shipped encoder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "speaker_finetune"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import speaker_sets  # noqa: E402  (benchmarks/speaker_sets.py: the dialogues)
import speakers as bench  # noqa: E402  (benchmarks/speakers.py: tuning and scoring)
from fit_speaker_projection import training_rows  # noqa: E402  (the projection's training speakers)

from sentimentogram_cli.speakers import SpeakerEncoder  # noqa: E402
from sentimentogram_cli.speakers.encoder import PARTIAL_FRAMES, _levelled, mel_spectrogram  # noqa: E402

MIN_CROP = 70  # frames (0.7 s): turns.MIN_RELIABLE, the shortest piece that is clustered


def training_mels(seed: int) -> list[list[np.ndarray]]:
    """Per training speaker, the mel spectrogram of each of their clips (trimmed like a turn)."""
    rows = training_rows(per_speaker=10_000, seed=seed)
    kept = [sp for sp in sorted(rows) if not (sp.startswith("ravdess-") and int(sp.split("-")[1]) > 20)]
    return [[mel_spectrogram(_levelled(speaker_sets._trimmed(r["path"]))) for r in rows[sp]] for sp in kept]


def ge2e_loss(emb, speakers: int, crops: int, scale, bias):
    """GE2E softmax loss of unit embeddings ``(speakers * crops, d)``, grouped by speaker."""
    import torch

    e = emb.view(speakers, crops, -1)
    centroids = torch.nn.functional.normalize(e.mean(1), dim=-1)
    own = torch.nn.functional.normalize((e.sum(1, keepdim=True) - e) / (crops - 1), dim=-1)
    sim = torch.einsum("scd,kd->sck", e, centroids)
    idx = torch.arange(speakers)
    sim[idx, :, idx] = (e * own).sum(-1)
    logits = sim * scale.clamp_min(1e-6) + bias
    return torch.nn.functional.cross_entropy(logits.reshape(-1, speakers), idx.repeat_interleave(crops))


def finetune(encoder: SpeakerEncoder, mels: list[list[np.ndarray]], steps: int, lr: float, seed: int,
             speakers: int = 16, crops: int = 6) -> dict:
    """The encoder's weights after ``steps`` of GE2E training (the encoder is left as it was)."""
    import copy

    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lstm, linear = copy.deepcopy(encoder.lstm).train(), copy.deepcopy(encoder.linear).train()
    scale, bias = torch.nn.Parameter(torch.tensor(10.0)), torch.nn.Parameter(torch.tensor(-5.0))
    weights = list(lstm.parameters()) + list(linear.parameters())
    optimiser = torch.optim.Adam(weights + [scale, bias], lr=lr)
    usable = [k for k, clips in enumerate(mels) if len(clips) >= crops]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    losses, t0 = [], time.time()
    try:
        for step in range(steps):
            n = int(rng.integers(MIN_CROP, PARTIAL_FRAMES + 1))
            batch = []
            for k in rng.choice(usable, speakers, replace=False):
                for j in rng.choice(len(mels[k]), crops, replace=False):
                    m = mels[k][j]
                    m = np.pad(m, ((0, max(0, n - len(m))), (0, 0)))
                    s = int(rng.integers(0, len(m) - n + 1))
                    batch.append(m[s: s + n])
            _, (hidden, _) = lstm(torch.from_numpy(np.stack(batch)))
            emb = torch.nn.functional.normalize(torch.relu(linear(hidden[-1])), dim=-1)
            loss = ge2e_loss(emb, speakers, crops, scale, bias)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(weights, 3.0)
            optimiser.step()
            losses.append(loss.item())
            if (step + 1) % 50 == 0:
                print(f"  step {step + 1}: loss {np.mean(losses[-50:]):.3f} ({time.time() - t0:.0f} s)", flush=True)
    finally:
        torch.set_num_threads(threads)
    return {"lstm": lstm.state_dict(), "linear": linear.state_dict()}


def mixed(encoder: SpeakerEncoder, shipped: dict, tuned: dict, alpha: float) -> None:
    """Load ``(1 - alpha) * shipped + alpha * tuned`` into the encoder."""
    for name in ("lstm", "linear"):
        getattr(encoder, name).load_state_dict(
            {k: (1 - alpha) * v + alpha * tuned[name][k] for k, v in shipped[name].items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.15, 0.3, 0.5, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--validation-draws", type=int, default=2,
                        help="extra draws of the validation recipe (speaker_sets.datasets; 2 is the benchmark's own)")
    args = parser.parse_args()
    import torch

    encoder = SpeakerEncoder("cpu")
    shipped = {name: {k: v.clone() for k, v in getattr(encoder, name).state_dict().items()} for name in ("lstm", "linear")}
    cached = CACHE / f"tuned-{args.steps}-{args.lr}-{args.seed}.pt"
    if cached.is_file():
        tuned = torch.load(cached, weights_only=True)
    else:
        print("Training speakers' clips: mel spectrograms ...", flush=True)
        mels = training_mels(seed=21)
        print(f"{len(mels)} speakers, {sum(map(len, mels))} clips; {args.steps} steps at lr {args.lr}", flush=True)
        tuned = finetune(encoder, mels, args.steps, args.lr, args.seed)
        CACHE.mkdir(parents=True, exist_ok=True)
        torch.save(tuned, cached)
    sets = speaker_sets.datasets(extra_validation=args.validation_draws)
    grid = np.round(np.arange(0.15, 1.21, 0.025), 3)
    print("\n| alpha | merge distance (validation) | validation: 1 / 2 / 3 speakers, right count · WDER "
          "| report: 1 / 2 / 3 speakers, right count · WDER | report, 2 speakers given: WDER |")
    print("|---|---|---|---|---|")
    for alpha in args.alphas:
        mixed(encoder, shipped, tuned, alpha)
        val, rep = (bench.prepare(sets[split], "base", encoder, False)[0] for split in ("validation", "report"))
        distance = bench.tune(val, grid)
        v, r, given = bench.evaluate(val, distance), bench.evaluate(rep, distance), bench.evaluate(rep, distance, given=True)
        cells = [" / ".join(f"{s[n]['count_right']}/{s[n]['recordings']} · {100 * s[n]['wder']:.1f}%" for n in (1, 2, 3))
                 for s in (v, r)]
        print(f"| {alpha} | {distance} | {cells[0]} | {cells[1]} | {100 * given[2]['wder']:.1f}% |", flush=True)


if __name__ == "__main__":
    main()
