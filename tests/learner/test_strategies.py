"""Query strategies: known probabilities give known picks; modAL's functions run over the adapter."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.labels import cold_start
from learner import DEFAULT, STRATEGIES, resolve
from learner.strategies import PoolClassifier, bald_scores, utility

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


def test_the_default_takes_uncertain_images_from_different_clusters_and_series() -> None:
    """Near-identical neighbouring slices (one series, one tight cluster of embeddings, all very uncertain)
    do not fill the batch: each cluster gives its most uncertain image, and no series more than a tenth."""
    rng = np.random.default_rng(0)
    slices = rng.normal(0, 0.01, (30, 8)) + 5  # one series of 30 near-identical slices, all at p ≈ 0.5
    others = rng.normal(0, 1, (170, 8))  # 170 images of 85 other series, less uncertain
    embeddings = np.concatenate([slices, others])
    p = np.concatenate([0.5 + rng.uniform(-0.01, 0.01, 30), rng.uniform(0.05, 0.45, 170)])
    groups = np.array(["run"] * 30 + [f"series-{i // 2}" for i in range(170)], dtype=object)
    pool = PoolClassifier(np.stack([1 - p, p], axis=1), embeddings=embeddings, groups=groups)
    picks = STRATEGIES[DEFAULT](pool, embeddings, 20)
    assert len(set(picks.tolist())) == 20
    assert (groups[picks] == "run").sum() <= 2  # entropy alone takes 20 of the run
    assert len(set(groups[picks])) >= 10
    assert set(STRATEGIES["entropy"](pool, embeddings, 20).tolist()) <= set(range(30))
    worth = utility(DEFAULT, pool)
    assert np.median(worth[picks]) > np.median(worth)  # still the uncertain ones
    assert list(STRATEGIES[DEFAULT](pool, embeddings, 20)) == list(picks)  # reproducible


def test_the_default_skips_near_duplicates_and_draws_by_uncertainty() -> None:
    """Without series: of each pair of near-identical images (the same picture twice) one is taken; the batch is
    drawn with chances that grow with uncertainty: the near-certain images are rarely taken, the coin flips
    often; a seed gives one batch."""
    rng = np.random.default_rng(1)
    distinct = rng.normal(0, 1, (40, 16))
    embeddings = np.concatenate([distinct[:10], distinct[:10] + 1e-4, distinct[10:]])  # 0-9 twice, then 10-39
    p = np.concatenate([np.linspace(0.5, 0.4, 10), np.linspace(0.5, 0.4, 10) + 1e-4, np.linspace(0.39, 0.005, 30)])
    taken = np.zeros(len(p))
    for seed in range(100):
        pool = PoolClassifier(np.stack([1 - p, p], axis=1), embeddings=embeddings, seed=seed)
        picks = STRATEGIES[DEFAULT](pool, embeddings, 10).tolist()
        assert len({index % 10 if index < 20 else index for index in picks}) == 10  # never both copies
        assert STRATEGIES[DEFAULT](pool, embeddings, 10).tolist() == picks
        taken[picks] += 1
    assert taken[:20].sum() > 3 * taken[-10:].sum()  # coin flips (entropy 0.67-0.69) against p ≤ 0.13 (≤ 0.39)
    assert taken[20:30].sum() > 0  # … yet not only the top


def test_the_default_does_not_fill_a_batch_with_the_plain_top() -> None:
    """Twenty images a shade more uncertain than eighty others (entropy 0.693 against 0.673): the plain top of
    the entropy is those twenty and nothing else, a skewed sample of what the model finds hard (on PneumoniaMNIST
    with pre-trained features it fell to test AUC 0.86 at 100 labels where random was at 0.95); the draw mixes
    both in about their share."""
    p = np.concatenate([np.full(20, 0.5), np.full(80, 0.4)])
    embeddings = np.random.default_rng(2).normal(0, 1, (100, 16))
    shares = [np.mean(STRATEGIES[DEFAULT](PoolClassifier(np.stack([1 - p, p], axis=1), embeddings=embeddings,
                                                         seed=seed), embeddings, 20) < 20) for seed in range(20)]
    assert set(STRATEGIES["entropy"](PoolClassifier(np.stack([1 - p, p], axis=1)), embeddings, 20)) == set(range(20))
    assert 0.1 < np.mean(shares) < 0.4


def test_random_is_seeded_and_registry_names() -> None:
    assert list(STRATEGIES["random"](classifier(seed=3), np.eye(5), 5)) == \
        list(STRATEGIES["random"](classifier(seed=3), np.eye(5), 5))
    assert resolve("default") == DEFAULT and set(STRATEGIES) == {
        "random", "least_confidence", "margin", "entropy", "bald", "diverse", "uncertain-diverse"}
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
