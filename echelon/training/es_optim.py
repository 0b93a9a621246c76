"""The optimiser of evolution strategies (Salimans et al. 2017): centred-rank fitness shaping, the
antithetic gradient estimate and Adam on a flat weight vector. The network and its population rollout
are the policy's (:mod:`agents.es`); learning is here."""

from __future__ import annotations

import numpy as np


def centred_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to [-0.5, 0.5] (Salimans et al. 2017's fitness shaping): invariant to the cost's scale."""
    ranks = np.empty(values.size)
    ranks[np.argsort(values, kind="stable")] = np.arange(values.size)
    return ranks / max(values.size - 1, 1) - 0.5


class Adam:
    """Adam (Kingma & Ba 2015) on a flat vector; its state is three arrays and a step count."""

    def __init__(self, dim: int, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = np.zeros(dim), np.zeros(dim), 0

    def step(self, grad: np.ndarray, lr: float | None = None) -> np.ndarray:
        """The step to add for a gradient of the quantity to *minimise*."""
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return -(self.lr if lr is None else lr) * m_hat / (np.sqrt(v_hat) + self.eps)


def es_gradient(noise: np.ndarray, cost_plus: np.ndarray, cost_minus: np.ndarray, sigma: float) -> np.ndarray:
    """The antithetic estimate of the smoothed cost's gradient, on centred ranks of all ``2n`` costs."""
    shaped = centred_ranks(np.concatenate([cost_plus, cost_minus]))
    n = noise.shape[0]
    return (shaped[:n] - shaped[n:]) @ noise / (2 * n * sigma)
