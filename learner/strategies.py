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

from storage.errors import MedalError

DEFAULT = "entropy"  # chosen by `medal simulate` on PneumoniaMNIST (5 seeds): 73% of the labels random needs


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


STRATEGIES: dict[str, Callable[[PoolClassifier, np.ndarray, int], np.ndarray]] = {
    "random": random_sampling,
    "least_confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
    "bald": bald,
    "diverse": diverse,
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
    if name == "entropy":
        return _modal().uncertainty.classifier_entropy(classifier, pool)
    if name == "bald" and classifier.bald_samples is not None:
        return bald_scores(classifier.bald_samples)
    return _modal().uncertainty.classifier_uncertainty(classifier, pool)
