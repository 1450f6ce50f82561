"""Who said each word: the words cut into pieces, each piece's voice embedded, the embeddings
clustered into speakers.

Pieces: runs of words between pauses of ``PIECE_GAP`` or more, cut further so none is longer than
``MAX_PIECE`` seconds; a change of speaker inside one Whisper segment almost always falls at such
a pause, so it is found there. Clustering: agglomerative, average linkage on cosine distance
(``LINKAGE``: complete linkage, measured against it by benchmarks/speakers.py, was no better on
validation), over the pieces long enough to carry a voice (``MIN_RELIABLE`` seconds); shorter pieces (one- or
two-word turns) join the nearest speaker. ``auto`` stops merging at ``MERGE_DISTANCE`` (chosen on
validation dialogues in benchmarks/speakers.py), then folds speakers with less than
``MIN_SPEAKER_SHARE`` of the talk time (or ``MIN_SPEAKER_SECONDS``) into their nearest
neighbour, so a monologue comes out as one speaker. A number ``N`` asks for N speakers (fewer
when there are fewer pieces).

The embeddings clustered are ``voices.VoiceEncoder``'s: CAM++ beside GE2E. The GE2E part first
goes through a shipped linear projection (``project``):
within-class covariance normalisation fitted on RAVDESS actors 17-20 across all their emotions
(scripts/fit_speaker_projection.py; none of them is in the benchmark's sets), which shrinks the
directions one voice moves in when it shouts, whispers or laughs. On the validation dialogues it
took the two-speaker WDER from 20.3% to 12.4% (benchmarks/speakers.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..assets import speaker_projection_path
from ..document import Speaker, Word

__all__ = ["PIECE_GAP", "MAX_PIECE", "MIN_RELIABLE", "MERGE_DISTANCE", "LINKAGE", "MIN_SPEAKER_SHARE", "Piece",
           "Turns", "cut_pieces", "cluster", "speaker_ids", "turns_from_embeddings", "load_projection", "project"]

# Seconds of pause between two words that starts a new piece. 0.1 rather than 0.2: turns that
# latch (0-0.2 s apart, as in conversation) must still fall in pieces of their own; chosen on the
# validation dialogues with 0.3-0.7 s and with 0-0.2 s pauses (benchmarks/speakers.py --gaps).
PIECE_GAP = 0.1
MAX_PIECE = 3.0  # seconds: longer runs are cut at their widest pause
MIN_RELIABLE = 0.7  # seconds of speech: pieces at least this long are clustered; shorter ones join
MERGE_DISTANCE = 0.6  # cosine distance (``LINKAGE``, ``voices.VoiceEncoder`` embeddings) where ``auto`` stops merging
LINKAGE = "average"  # how the distance between two groups of pieces is taken (chosen on validation)
MIN_SPEAKER_SHARE = 0.08  # a found speaker with less of the talk time is folded into its neighbour
MIN_SPEAKER_SECONDS = 2.0  # ... or with less than this many seconds
MAX_SPEAKERS = 26  # ids A..Z


@dataclass
class Piece:
    """A run of consecutive words (indices ``[first, stop)``) from ``start`` to ``end`` seconds."""

    first: int
    stop: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Turns:
    """The result: a speaker id per word (in order), the speakers (ids "A", "B"… by first
    appearance, with talk time) and the pieces with their cluster labels."""

    word_speakers: list[str]
    speakers: list[Speaker]
    pieces: list[Piece] = field(default_factory=list)


def cut_pieces(words: Sequence[Word], gap: float = PIECE_GAP, max_piece: float = MAX_PIECE) -> list[Piece]:
    """The words as pieces: cut at every pause of ``gap`` seconds or more, then at the widest
    pause inside any piece longer than ``max_piece`` seconds, until none is (or it is one word)."""
    if not words:
        return []
    cuts = [0] + [i for i in range(1, len(words)) if words[i].start - words[i - 1].end >= gap] + [len(words)]
    pieces: list[Piece] = []
    todo = [(a, b) for a, b in zip(cuts, cuts[1:])]
    while todo:
        a, b = todo.pop(0)
        if b - a > 1 and words[b - 1].end - words[a].start > max_piece:
            gaps = [words[i].start - words[i - 1].end for i in range(a + 1, b)]
            m = a + 1 + int(np.argmax(gaps))
            todo[:0] = [(a, m), (m, b)]
            continue
        pieces.append(Piece(a, b, words[a].start, words[b - 1].end))
    return pieces


@lru_cache(maxsize=1)
def load_projection() -> tuple[np.ndarray, np.ndarray]:
    """``(mean, matrix)`` of the shipped projection (SHA-256 checked; ModelError otherwise)."""
    with np.load(speaker_projection_path(), allow_pickle=False) as z:
        return z["mean"].astype(np.float32), z["matrix"].astype(np.float32)


def project(embeddings: np.ndarray) -> np.ndarray:
    """GE2E embeddings (n, 256) through the shipped projection, back to unit length."""
    if len(embeddings) == 0:
        return np.asarray(embeddings, np.float32)
    mean, matrix = load_projection()
    z = (np.asarray(embeddings, np.float32) - mean) @ matrix
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-9)


def _cosine_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 1.0 - x @ y.T


def _centroids(emb: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    out = np.stack([(emb[labels == k] * weights[labels == k, None]).sum(0) for k in range(labels.max() + 1)])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def cluster(embeddings: np.ndarray, durations: np.ndarray, speakers: int | None = None, *,
            merge_distance: float = MERGE_DISTANCE, linkage: str = LINKAGE, min_reliable: float = MIN_RELIABLE,
            min_share: float = MIN_SPEAKER_SHARE, min_seconds: float = MIN_SPEAKER_SECONDS) -> np.ndarray:
    """A cluster label (0, 1, …) for each embedding (unit vectors, one per piece of ``durations``
    seconds): ``speakers`` clusters, or as many as ``auto`` finds when None."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    if n == 1 or speakers == 1:
        return np.zeros(n, int)
    reliable = np.flatnonzero(durations >= min_reliable)
    if len(reliable) < 2:
        reliable = np.argsort(-durations)[: max(2, min(n, 2 * (speakers or 2)))]
    emb = embeddings[reliable]
    sub = agglomerate(emb, linkage, min(speakers, len(reliable)) if speakers else None, merge_distance)
    weights = durations[reliable]
    if speakers is None:  # fold speakers too small to be one into their nearest neighbour
        total = weights.sum()
        while sub.max() > 0:
            talk = np.bincount(sub, weights=weights)
            small = int(np.argmin(talk))
            if talk[small] >= max(min_share * total, min(min_seconds, 0.5 * total)):
                break
            cents = _centroids(emb, sub, weights)
            d = _cosine_distances(cents[small: small + 1], cents)[0]
            d[small] = np.inf
            sub[sub == small] = int(np.argmin(d))
            sub = np.unique(sub, return_inverse=True)[1]
    cents = _centroids(emb, sub, weights)
    labels = np.argmin(_cosine_distances(embeddings, cents), axis=1)  # short pieces join the nearest
    labels[reliable] = sub
    return np.unique(labels, return_inverse=True)[1]


def agglomerate(x: np.ndarray, linkage: str, n_clusters: int | None, distance: float) -> np.ndarray:
    """Agglomerative clustering of the rows of ``x`` on cosine distance: ``n_clusters`` groups, or
    (None) every merge below ``distance``. scikit-learn's ``AgglomerativeClustering`` (which builds
    the same SciPy tree, then cuts it so), labels numbered as it numbers them, without importing
    scikit-learn in a render (~0.7 CPU s; issue 25)."""
    from scipy.cluster.hierarchy import linkage as build

    n = len(x)
    tree = build(x, method=linkage, metric="cosine")
    children = tree[:, :2].astype(int)
    if n_clusters is None:
        n_clusters = int(np.count_nonzero(tree[:, 2] >= distance)) + 1
    nodes = [-(int(children[-1].max()) + 1)]  # a heap of the cut's nodes, the largest first
    for _ in range(n_clusters - 1):
        first, second = children[-nodes[0] - n]
        heapq.heappush(nodes, -int(first))
        heapq.heappushpop(nodes, -int(second))
    labels = np.zeros(n, int)
    for k, node in enumerate(nodes):
        labels[_leaves(-node, children, n)] = k
    return labels


def _leaves(node: int, children: np.ndarray, n: int) -> list[int]:
    """The leaves (rows) under a node of the tree."""
    out, todo = [], [node]
    while todo:
        node = todo.pop()
        if node < n:
            out.append(node)
        else:
            todo.extend(int(c) for c in children[node - n])
    return out


def speaker_ids(n: int) -> list[str]:
    """"A", "B", … for ``n`` speakers."""
    return [chr(ord("A") + i) for i in range(n)]


def turns_from_embeddings(words: Sequence[Word], pieces: Sequence[Piece], embeddings: np.ndarray,
                          speakers: int | None = None, **kwargs) -> Turns:
    """The ``Turns`` of ``words`` given its pieces and their embeddings (``cluster``'s keywords pass on)."""
    durations = np.array([p.duration for p in pieces], float)
    labels = cluster(embeddings, durations, speakers, **kwargs)
    first_seen: dict[int, str] = {}
    for k in labels:  # ids by first appearance: the first voice heard is "A"
        first_seen.setdefault(int(k), speaker_ids(MAX_SPEAKERS)[min(len(first_seen), MAX_SPEAKERS - 1)])
    word_speakers = [""] * len(words)
    talk: dict[str, float] = {}
    for piece, k in zip(pieces, labels):
        sid = first_seen[int(k)]
        for i in range(piece.first, piece.stop):
            word_speakers[i] = sid
        talk[sid] = talk.get(sid, 0.0) + piece.duration
    speakers_out = [Speaker(sid, f"Speaker {sid}", round(talk[sid], 3)) for sid in sorted(talk)]
    return Turns(word_speakers, speakers_out, list(pieces))
