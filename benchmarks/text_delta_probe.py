"""Compare fine-tuned text-encoder deltas on MELD with one probe: a linear classifier on their tokens.

Why: a delta's own fine-tuning classifier is not saved, and the fused head's text-only figure needs
a full head training per delta. This probe reads each delta the same way: MiniLM + the delta embeds
MELD train and a scored split (dev by default: choose on dev, report test once), the line's tokens
are mean-pooled (with ``--context`` the previous line of the dialogue is read first and pooled
out), and a logistic regression fitted on MELD train is scored by weighted F1 and UA. It is fitted
twice: with loss weights ∝ frequency^-½ (the fine-tuning's weighting) and plain (MELD's own
frequencies, which weighted F1 favours). Pooled embeddings are kept under ``--cache`` by the
delta's SHA-256, so scoring another split later embeds MELD train no second time.

    python benchmarks/text_delta_probe.py shipped .cache/text_delta/full-epoch.safetensors
    python benchmarks/text_delta_probe.py --context .cache/text_delta/context.safetensors --split test
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package, not an installed copy

from sentimentogram_cli.assets import TEXT_ENCODER_ID, minilm_dir, text_delta_path  # noqa: E402
from sentimentogram_cli.constants import EMOTIONS  # noqa: E402
from sentimentogram_cli.emotion.text_delta import apply_text_delta  # noqa: E402
from sentimentogram_cli.errors import SentimentogramError  # noqa: E402
from sentimentogram_cli.training.corpora import Sentence, read_meld  # noqa: E402
from sentimentogram_cli.training.metrics import classification_metrics  # noqa: E402
from sentimentogram_cli.training.text_finetune import encode_batch  # noqa: E402


@torch.inference_mode()
def pooled(model, tokenizer, sentences: list[Sentence], context: bool, batch_size: int = 64) -> np.ndarray:
    """Mean of each line's token embeddings (float32, one row per sentence)."""
    out = np.zeros((len(sentences), model.config.hidden_size), np.float32)
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].text) + len(sentences[i].context))
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        batch = encode_batch(tokenizer, [sentences[i] for i in idx], context)
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       token_type_ids=batch["token_type_ids"]).last_hidden_state
        mask = batch["pool_mask"].unsqueeze(-1).float()
        out[idx] = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, power: float, l2: float = 1e-3) -> torch.nn.Linear:
    """Multinomial logistic regression (L-BFGS) with loss weights ∝ class frequency^-power."""
    torch.manual_seed(0)
    counts = np.bincount(y, minlength=len(EMOTIONS)).astype(np.float64)
    weights = np.where(counts > 0, np.maximum(counts, 1) ** -power, 0.0)
    weights *= counts.sum() / (weights * counts).sum()
    linear = torch.nn.Linear(x.shape[1], len(EMOTIONS))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    optimiser = torch.optim.LBFGS(linear.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = loss_fn(linear(xt), yt) + l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return linear


def probe(delta: Path, context: bool, split: str, data: Path, cache: Path) -> dict[str, dict]:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True)
    model = AutoModel.from_pretrained(minilm_dir(), local_files_only=True)
    apply_text_delta(model, delta, TEXT_ENCODER_ID)
    model.eval()
    digest = hashlib.sha256(Path(delta).read_bytes()).hexdigest()[:16]

    def embedded(sentences: list[Sentence], name: str) -> np.ndarray:
        """Pooled embeddings, cached by the delta's SHA-256, the reading and the split."""
        path = cache / f"{digest}-{'context' if context else 'line'}-{name}.npy"
        if not path.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            np.save(path.with_name(path.stem + ".part.npy"), pooled(model, tokenizer, sentences, context))
            path.with_name(path.stem + ".part.npy").replace(path)
        return np.load(path)

    train, scored = (read_meld(data / "text" / "meld", s) for s in ("train", split))
    x_train, x_scored = embedded(train, "train"), embedded(scored, split)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    y_train = np.array([EMOTIONS.index(s.label) for s in train])
    y_scored = np.array([EMOTIONS.index(s.label) for s in scored])
    results = {}
    for name, power in (("weighted ∝ f^-½", 0.5), ("plain", 0.0)):
        linear = fit_logistic((x_train - mean) / std, y_train, power)
        with torch.no_grad():
            predicted = linear(torch.from_numpy((x_scored - mean) / std)).argmax(1).numpy()
        results[name] = classification_metrics(y_scored, predicted, list(range(len(EMOTIONS))))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("deltas", nargs="+", help="delta files, or 'shipped' for the package's")
    parser.add_argument("--context", action="store_true", help="read the previous line of the dialogue first")
    parser.add_argument("--split", choices=("dev", "test"), default="dev", help="the MELD split scored")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "text_delta" / "probe",
                        help="pooled embeddings kept here between runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"MELD {args.split}, linear probe on mean-pooled line tokens{' (previous line read first)' if args.context else ''}")
    print("| delta | probe | weighted F1 | UA |\n|---|---|---|---|")
    for name in args.deltas:
        path = text_delta_path() if name == "shipped" else Path(name)
        try:
            results = probe(path, args.context, args.split, args.data, args.cache)
        except (OSError, SentimentogramError) as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return 1
        for kind, result in results.items():
            print(f"| {name} | {kind} | {result['weighted_f1']:.3f} | {result['ua']:.1%} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
