"""Query strategies: known probabilities give known picks; modAL's functions run over the adapter."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.labels.spread import cold_start
from learner.strategies import DEFAULT, STRATEGIES, PoolClassifier, bald_scores, resolve, utility

PROBABILITIES = np.array([[0.99, 0.01], [0.5, 0.5], [0.8, 0.2], [0.6, 0.4], [0.05, 0.95]])


def classifier(**extra) -> PoolClassifier:  # noqa: ANN003
    return PoolClassifier(PROBABILITIES, embeddings=np.eye(5), **extra)


@pytest.mark.parametrize("name", ["least_confidence", "margin", "entropy"])
def test_uncertainty_strategies_pick_the_closest_to_a_coin_flip(name: str) -> None:
    picks = STRATEGIES[name](classifier(), np.eye(5), 2)
    assert list(picks) == [1, 3]
    assert np.argsort(-utility(name, classifier()))[:2].tolist() == [1, 3]


def test_bald_prefers_disagreement_between_dropout_samples() -> None:
    samples = np.stack([np.array([[0.5, 0.5], [0.9, 0.1], [0.9, 0.1]]),
                        np.array([[0.5, 0.5], [0.1, 0.9], [0.9, 0.1]])])
    scores = bald_scores(samples)  # image 0: uncertain, but every sample says so: no information gain
    assert scores[1] > scores[0] == pytest.approx(0) and scores[2] == pytest.approx(0)
    pool = PoolClassifier(np.full((3, 2), 0.5), bald_samples=samples)
    assert list(STRATEGIES["bald"](pool, np.eye(3), 1)) == [1]


def test_diverse_spreads_a_batch_over_the_embedding() -> None:
    # Two tight clusters of equally uncertain images: a batch of two takes one from each.
    embeddings = np.array([[0, 0], [0.01, 0], [0, 0.01], [10, 10], [10.01, 10]])
    pool = PoolClassifier(np.full((5, 2), 0.5), embeddings=embeddings, X_training=np.array([[5.0, 5.0]]))
    picks = STRATEGIES["diverse"](pool, embeddings, 2)
    assert {int(p) < 3 for p in picks} == {True, False}


def test_random_is_seeded_and_registry_names() -> None:
    assert list(STRATEGIES["random"](classifier(seed=3), np.eye(5), 5)) == \
        list(STRATEGIES["random"](classifier(seed=3), np.eye(5), 5))
    assert resolve("default") == DEFAULT and set(STRATEGIES) == {
        "random", "least_confidence", "margin", "entropy", "bald", "diverse"}
    with pytest.raises(ValueError, match="Unknown strategy"):
        resolve("oracle")
    with pytest.raises(ValueError, match="rows"):
        classifier().predict_proba(np.zeros((2, 1)))


def test_cold_start_covers_every_cluster() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [20, 0], [0, 20], [20, 20]])
    features = np.concatenate([c + rng.normal(0, 1, (50, 2)) for c in centres])
    picks = cold_start(features, 4, seed=0)
    assert sorted({int(p) // 50 for p in picks}) == [0, 1, 2, 3]


def test_pointwise_strategies_agree_for_two_classes() -> None:
    """With two classes, least confidence, margin and entropy are all monotone in |p − 0.5|: the same
    picks (why the simulation table shows one of them)."""
    p = np.random.default_rng(3).random(200)
    classifier = PoolClassifier(np.stack([1 - p, p], axis=1))
    pool = np.zeros((200, 4))
    picks = [list(STRATEGIES[name](classifier, pool, 15)) for name in ("least_confidence", "margin", "entropy")]
    assert picks[0] == picks[1] == picks[2]
    assert set(picks[0]) == set(np.argsort(np.abs(p - 0.5))[:15])
