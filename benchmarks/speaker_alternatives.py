"""Other ways to cluster the speaker pieces, measured against the shipped one (issue 21).

    python benchmarks/speaker_alternatives.py

Every method gets the same pieces and GE2E embeddings as ``benchmarks/speakers.py`` (its
recordings, transcripts and cache), its setting is chosen on that benchmark's validation set (the
number of recordings counted right, then WDER) and it is then shown on the report set:

- shipped: ``turns.cluster`` (average linkage on the projected embeddings, threshold chosen);
- NME-SC: spectral clustering with the pruning and the number of speakers chosen by the
  normalised maximum eigengap (Park et al., IEEE SPL 2019), parameter-free;
- AHC then NME-SC: the shipped clustering decides one speaker or more, NME-SC how many;
- AS-norm: adaptive symmetric score normalisation of the pair scores against a cohort of other
  voices (the projection's training clips, ``scripts/fit_speaker_projection.py``: RAVDESS 17-20,
  ASED, TurEV; top 200 cohort scores), then average linkage on the normalised scores;
- raw + projected: both embeddings side by side (the cosine is the mean of the two cosines).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speaker_sets  # noqa: E402  benchmarks/speaker_sets.py: the recordings
import speakers as bench  # noqa: E402  benchmarks/speakers.py: scoring

from sentimentogram_cli.speakers import SpeakerEncoder  # noqa: E402
from sentimentogram_cli.speakers import turns  # noqa: E402


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def nme_sc(emb: np.ndarray, max_k: int = 6) -> np.ndarray:
    """Park et al. 2019: for each p, keep each row's p largest cosine affinities (binary), make it
    symmetric, and take the Laplacian's eigengap; the p with the smallest p / normalised gap wins,
    its largest gap gives the number of speakers, k-means on its first eigenvectors the labels."""
    from sklearn.cluster import KMeans

    n = len(emb)
    if n < 3:
        return np.zeros(n, int)
    sim = emb @ emb.T
    best = None
    for p in range(2, max(2, n // 2) + 1):
        adj = np.zeros_like(sim)
        rows = np.argsort(-sim, axis=1)[:, :p]
        adj[np.arange(n)[:, None], rows] = 1.0
        adj = (adj + adj.T) / 2
        np.fill_diagonal(adj, 0)
        lap = np.diag(adj.sum(1)) - adj
        values, vectors = np.linalg.eigh(lap)
        gaps = np.diff(values[: min(max_k + 1, n)])
        ratio = p / max(gaps.max() / max(values[-1], 1e-9), 1e-9)
        if best is None or ratio < best[0]:
            best = (ratio, int(np.argmax(gaps)) + 1, vectors)
    _, k, vectors = best
    if k == 1:
        return np.zeros(n, int)
    return KMeans(k, n_init=10, random_state=0).fit_predict(vectors[:, :k])


def _on_reliable(emb: np.ndarray, durations: np.ndarray, labels_of) -> np.ndarray:
    """``labels_of`` on the pieces ``turns.MIN_RELIABLE`` long or more; shorter ones join the nearest centre."""
    reliable = np.flatnonzero(durations >= turns.MIN_RELIABLE)
    if len(reliable) < 2:
        return np.zeros(len(emb), int)
    sub = labels_of(emb[reliable])
    centres = _unit(np.stack([emb[reliable][sub == k].mean(0) for k in range(sub.max() + 1)]))
    labels = np.argmax(emb @ centres.T, axis=1)
    labels[reliable] = sub
    return np.unique(labels, return_inverse=True)[1]


def as_norm_distances(emb: np.ndarray, cohort: np.ndarray, top: int = 200) -> np.ndarray:
    """1 minus the AS-norm score (each side's z-score against its ``top`` nearest cohort voices),
    shifted to stay non-negative for scikit-learn."""
    scores = np.sort(emb @ cohort.T, axis=1)[:, -top:]
    z = (emb @ emb.T - scores.mean(1)[:, None]) / (scores.std(1)[:, None] + 1e-6)
    d = 10.0 - (z + z.T) / 2
    np.fill_diagonal(d, 0.0)
    return np.maximum(d, 0.0)


def _precomputed(d: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="precomputed",
                                   linkage="average").fit_predict(d)


def evaluate(items, label_pieces) -> dict:
    rows = []
    for rec, words, true, pieces, raw in items:
        labels = label_pieces(raw, np.array([p.duration for p in pieces]))
        found = [""] * len(words)
        for piece, k in zip(pieces, labels):
            found[piece.first: piece.stop] = [str(k)] * (piece.stop - piece.first)
        rows.append({"name": rec.name, "true": len({t.speaker for t in rec.turns}), "found": len(set(found)),
                     "wder": bench.wder(found, true), "words": len(words)})
    return bench.summarise(rows)


def main() -> None:
    sys.path.insert(0, str(bench.ROOT / "scripts"))
    from fit_speaker_projection import embed_all

    bench.PROJECT = False  # the raw embeddings: each method projects what it needs
    encoder = SpeakerEncoder("cpu")
    prepared = {split: bench.prepare(recs, "base", encoder, False)[0] for split, recs in speaker_sets.datasets().items()}
    cohort = turns.project(embed_all(40, 21)[0])
    shipped = lambda d: lambda raw, dur: turns.cluster(turns.project(raw), dur, None, merge_distance=d)  # noqa: E731
    methods = {
        "shipped (average linkage)": (shipped, np.round(np.arange(0.6, 1.0, 0.025), 3)),
        "NME-SC": (lambda _: lambda raw, dur: _on_reliable(turns.project(raw), dur, nme_sc), [None]),
        "AHC one-or-more, then NME-SC": (
            lambda d: lambda raw, dur: (shipped(d)(raw, dur) if shipped(d)(raw, dur).max() == 0
                                        else _on_reliable(turns.project(raw), dur, nme_sc)),
            np.round(np.arange(0.6, 1.0, 0.025), 3)),
        "AS-norm scores": (
            lambda t: lambda raw, dur: _on_reliable(turns.project(raw), dur, lambda e: _precomputed(
                as_norm_distances(e, cohort), t)), np.round(np.arange(6.0, 10.0, 0.1), 2)),
        "raw + projected": (
            lambda d: lambda raw, dur: turns.cluster(_unit(np.concatenate([raw, turns.project(raw)], 1)), dur, None,
                                                     merge_distance=d), np.round(np.arange(0.4, 1.0, 0.0125), 4)),
    }
    print("| method | setting (chosen on validation) | validation: right count 1 / 2 / 3 speakers | "
          "report: right count 1 / 2 / 3 | report WDER two / three speakers |")
    print("|---|---|---|---|---|")
    for name, (make, grid) in methods.items():
        setting = max(grid, key=lambda s: bench._score(evaluate(prepared["validation"], make(s))))
        val, rep = evaluate(prepared["validation"], make(setting)), evaluate(prepared["report"], make(setting))
        counts = lambda s: " / ".join(f"{s[n]['count_right']} of {s[n]['recordings']}" for n in (1, 2, 3))  # noqa: E731
        print(f"| {name} | {setting} | {counts(val)} | {counts(rep)} | "
              f"{100 * rep[2]['wder']:.1f}% / {100 * rep[3]['wder']:.1f}% |", flush=True)


if __name__ == "__main__":
    main()
