"""Query strategies: small pure functions ``(classifier, X, n) -> indices`` in a registry.

``classifier`` is a ``PoolClassifier``, a thin adapter over what the CNN said about the pool
(probabilities, embeddings, head-only MC-dropout samples) that gives modAL what it asks for:
``predict_proba`` and, for ranked batch, ``X_training`` and ``on_transformed``. ``X`` is the pool's
embedding matrix, one row per unlabeled image, in the same order as the probabilities. modAL's own
strategy functions do the uncertainty work (its ``ActiveLearner.teach`` is not used: it fails on
scikit-learn ≥ 1.8).

Every strategy also has a per-image utility (``utility``), higher = more worth labeling, which
becomes the queue priority; the strategy's picks are ranked above everything else.

modAL is imported on first use (``_modal``): it imports torch, which costs seconds, and the Train page
only needs the strategies' names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from storage import MedalError

DEFAULT = "uncertain-diverse"  # uncertainty and diversity together; see `medal simulate` and the README's table
PREFILTER = 3  # uncertain-diverse measures the typical gap between the PREFILTER × n most uncertain images
NEAR_DUPLICATE = 0.2  # … and skips an image closer than this × their median distance to one already taken
MAX_PER_GROUP = 0.1  # … and takes at most this share of a batch (at least one) from one series


class UnknownStrategy(MedalError, ValueError):
    """A query strategy name that is not in the registry."""


@dataclass
class PoolClassifier:
    """What the model predicted for the pool, shaped for modAL's strategy functions."""

    probabilities: np.ndarray  # (n, classes)
    embeddings: np.ndarray | None = None  # (n, d): the CNN's pooled features
    X_training: np.ndarray | None = None  # (m, d): embeddings of the labeled images (ranked batch)
    bald_samples: np.ndarray | None = None  # (T, n, classes): head-only MC dropout
    seed: int = 0
    groups: np.ndarray | None = None  # (n,): each image's series; batches spread over them
    on_transformed: bool = field(default=False, init=False)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if len(X) != len(self.probabilities):
            raise ValueError(f"X has {len(X)} rows but the pool has {len(self.probabilities)} predictions")
        return self.probabilities


def _modal() -> ModuleType:
    """modAL, with its ``batch`` and ``uncertainty`` modules loaded."""
    import modAL.batch
    import modAL.uncertainty

    return modAL


def _indices(result: tuple[np.ndarray, np.ndarray] | np.ndarray) -> np.ndarray:
    chosen = result[0] if isinstance(result, tuple) else result
    return np.asarray(chosen, dtype=int).ravel()


def random_sampling(classifier: PoolClassifier, X: np.ndarray, n: int) -> np.ndarray:
    return np.random.default_rng(classifier.seed).permutation(len(X))[:n]


def least_confidence(classifier: PoolClassifier, X: np.ndarray, n: int) -> np.ndarray:
    return _indices(_modal().uncertainty.uncertainty_sampling(classifier, X, n_instances=min(n, len(X))))


def margin(classifier: PoolClassifier, X: np.ndarray, n: int) -> np.ndarray:
    return _indices(_modal().uncertainty.margin_sampling(classifier, X, n_instances=min(n, len(X))))


def entropy(classifier: PoolClassifier, X: np.ndarray, n: int) -> np.ndarray:
    return _indices(_modal().uncertainty.entropy_sampling(classifier, X, n_instances=min(n, len(X))))


def bald_scores(samples: np.ndarray) -> np.ndarray:
    """Mutual information between prediction and weights: H(mean p) − mean H(p)."""
    def _entropy(p: np.ndarray) -> np.ndarray:
        return -(p * np.log(np.clip(p, 1e-12, 1))).sum(axis=-1)

    return _entropy(samples.mean(axis=0)) - _entropy(samples).mean(axis=0)


def bald(classifier: PoolClassifier, X: np.ndarray, n: int) -> np.ndarray:
    if classifier.bald_samples is None:
        raise ValueError("bald needs MC-dropout samples of the head (PoolClassifier.bald_samples)")
    return np.argsort(-bald_scores(classifier.bald_samples), kind="stable")[:n]


def diverse(classifier: PoolClassifier, X: np.ndarray, n: int) -> np.ndarray:
    """Uncertainty with batch diversity over the CNN embeddings: modAL's ranked batch (Cardoso et al.)."""
    if len(X) == 0:
        return np.zeros(0, dtype=int)
    return _indices(_modal().batch.uncertainty_batch_sampling(classifier, X, n_instances=min(n, len(X))))


def _entropy_of(probabilities: np.ndarray) -> np.ndarray:
    return -(probabilities * np.log(np.clip(probabilities, 1e-12, 1))).sum(axis=1)


def _spread_over_groups(order: np.ndarray, groups: np.ndarray | None, n: int) -> np.ndarray:
    """The first ``n`` of ``order`` taking at most MAX_PER_GROUP × n (at least one) per group while others
    remain, then the rest of ``order`` as it comes."""
    if groups is None:
        return order[:n]
    cap = max(1, int(MAX_PER_GROUP * n))
    taken: dict[object, int] = {}
    chosen: list[int] = []
    for index in order:
        if taken.get(groups[index], 0) < cap:
            chosen.append(int(index))
            taken[groups[index]] = taken.get(groups[index], 0) + 1
        if len(chosen) == n:
            return np.asarray(chosen, dtype=int)
    rest = [int(index) for index in order if index not in set(chosen)]
    return np.asarray(chosen + rest[:n - len(chosen)], dtype=int)


def entropy_draw(classifier: PoolClassifier) -> np.ndarray:
    """The pool in the order of a draw without replacement where each image's chance is proportional to its
    predictive entropy (Gumbel top-k: log entropy plus Gumbel noise, sorted; Kirsch et al. 2023, "Stochastic
    batch acquisition"). Seeded by the classifier's seed and the pool's size: the same pool gives the same
    order."""
    worth = _entropy_of(classifier.probabilities)
    noise = np.random.default_rng([classifier.seed, len(worth)]).gumbel(size=len(worth))
    return np.argsort(-(np.log(np.clip(worth, 1e-12, None)) + noise), kind="stable")


def uncertain_diverse(classifier: PoolClassifier, X: np.ndarray, n: int) -> np.ndarray:
    """Uncertain **and** diverse: images drawn without replacement with a chance proportional to their
    predictive entropy (power sampling, ``entropy_draw``), each taken unless it is a near duplicate of one
    already in the batch (closer, in the normalised CNN embedding, than NEAR_DUPLICATE × the median distance
    between the PREFILTER × n first drawn) or its series already gives MAX_PER_GROUP of the batch. The draw
    instead of the plain top of the entropy keeps a batch from being only the hardest cases of one kind (which
    skewed what the model learnt: `medal simulate`, README), redundancy is removed, and neighbouring slices of
    one series never fill the top."""
    n = min(n, len(X))
    if n == 0:
        return np.zeros(0, dtype=int)
    order = entropy_draw(classifier)
    points = np.asarray(X, dtype=np.float64)
    points = points / (np.linalg.norm(points, axis=1, keepdims=True) + 1e-12)
    head = points[order[:max(PREFILTER * n, 2)]]
    gaps = np.sqrt(((head[:, None, :] - head[None, :, :]) ** 2).sum(-1))[np.triu_indices(len(head), 1)]
    radius = NEAR_DUPLICATE * float(np.median(gaps)) if len(gaps) else 0.0
    chosen: list[int] = []
    for index in order:
        if chosen and np.sqrt(((points[chosen] - points[index]) ** 2).sum(-1)).min() < radius:
            continue
        chosen.append(int(index))
        if len(chosen) == PREFILTER * n:
            break
    rest = [int(index) for index in order if index not in set(chosen)]
    return _spread_over_groups(np.asarray(chosen + rest, dtype=int), classifier.groups, n)


STRATEGIES: dict[str, Callable[[PoolClassifier, np.ndarray, int], np.ndarray]] = {
    "random": random_sampling,
    "least_confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
    "bald": bald,
    "diverse": diverse,
    "uncertain-diverse": uncertain_diverse,
}


def resolve(name: str) -> str:
    """A registry name; ``default`` means the one the simulation benchmark picked."""
    name = DEFAULT if name == "default" else name
    if name not in STRATEGIES:
        raise UnknownStrategy(f"Unknown strategy {name!r}; choose from default, {', '.join(STRATEGIES)}.")
    return name


def utility(name: str, classifier: PoolClassifier) -> np.ndarray:
    """Per-image worth of a label under strategy ``name`` (higher first), for the queue priorities."""
    name = resolve(name)
    pool = np.zeros((len(classifier.probabilities), 1))
    if name == "random":
        return np.random.default_rng(classifier.seed).random(len(pool))
    if name == "margin":
        return 1 - _modal().uncertainty.classifier_margin(classifier, pool)
    if name in ("entropy", "uncertain-diverse"):
        return _modal().uncertainty.classifier_entropy(classifier, pool)
    if name == "bald" and classifier.bald_samples is not None:
        return bald_scores(classifier.bald_samples)
    return _modal().uncertainty.classifier_uncertainty(classifier, pool)
