"""Calibration on the patient-level validation split: a temperature and a bias (Platt scaling of the two-class
logit margin; temperature scaling, Guo et al. 2017, plus an intercept), fitted by minimising the negative
log-likelihood of P(finding) = sigmoid((z₁ − z₀) / T + b). The temperature undoes over-confidence; the
bias undoes the shift the class-weighted loss gives a rare class. Neither changes any ranking (AUC, queue
order), but "probability 0.9" comes to mean about nine in ten."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

MIN_T, MAX_T = 0.05, 20.0
MAX_BIAS = 10.0
# A Gaussian prior on log T and b (their spreads): a validation split the model separates perfectly would
# otherwise drive T to its minimum and every probability to 0 or 1, over-confident on the next images.
PRIOR_LOG_T, PRIOR_BIAS = 0.5, 1.0


def _margin(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    return logits[:, 1] - logits[:, 0]


def fit_calibration(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The (temperature, bias) that minimise the validation NLL ((1, 0) when there is nothing to fit on)."""
    margin, labels = _margin(logits), np.asarray(labels, dtype=int)
    if len(labels) < 2 or len(np.unique(labels)) < 2:
        return 1.0, 0.0

    def nll(params: np.ndarray) -> float:
        z = margin / np.exp(params[0]) + params[1]
        prior = ((params[0] / PRIOR_LOG_T) ** 2 + (params[1] / PRIOR_BIAS) ** 2) / (2 * len(labels))
        return float(-(labels * log_expit(z) + (1 - labels) * log_expit(-z)).mean()) + prior

    found = minimize(nll, np.zeros(2), method="L-BFGS-B",
                     bounds=[(np.log(MIN_T), np.log(MAX_T)), (-MAX_BIAS, MAX_BIAS)])
    return (float(np.exp(found.x[0])), float(found.x[1])) if found.success else (1.0, 0.0)


def softmax_positive(logits: np.ndarray, temperature: float = 1.0, bias: float = 0.0) -> np.ndarray:
    """The positive class's probability of two-class logits under a temperature and a bias."""
    return expit(_margin(logits) / temperature + bias)
