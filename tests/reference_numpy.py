"""A plain NumPy reference implementation of the kit's numerics, written independently of it.

Deliberately straightforward: Python loops, explicit least squares, union-find. The tests compare
the JAX kit against it on the same sampled data, and the benchmark times it as the "NumPy loop".
"""

from __future__ import annotations

import numpy as np

LOG_FLOOR = -1.0e4


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return np.maximum(shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)), LOG_FLOOR)


def probs(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits))


def condition_number(logits, rho) -> float:
    return float(sum(r / p.max() for r, p in zip(rho, probs(logits), strict=True)))


def failure_probability(logits, rho, threshold=0.5) -> float:
    return float(sum(r for r, p in zip(rho, probs(logits), strict=True) if p.max() <= threshold))


def min_confidence(logits, rho) -> float:
    return float(min(p.max() for r, p in zip(rho, probs(logits), strict=True) if r > 0))


def margin(logits, rho) -> float:
    gaps = []
    for r, row in zip(rho, log_softmax(logits), strict=True):
        if r > 0:
            ordered = np.sort(row)
            gaps.append(ordered[-1] - ordered[-2])
    return float(min(gaps))


def performance_gap(logits, reference_logits, rho) -> float:
    reward = log_softmax(reference_logits)
    policy = probs(logits)
    return float(sum(r * (reward[x].max() - policy[x] @ reward[x]) for x, r in enumerate(rho)))


def population_update(logits, beta) -> np.ndarray:
    return log_softmax((1 + 1 / beta) * log_softmax(logits))


def erm_change_least_squares(logits, x, y, y_prime, beta, reward=None) -> np.ndarray:
    """Minimum-norm minimiser of the square loss, by least squares on the full design matrix.

    Row i of A is beta (e_{x_i, y_i} - e_{x_i, y'_i}); the target is r[x_i, y_i] - r[x_i, y'_i]
    with r = log pi_t (or the given reward table). ``np.linalg.lstsq`` returns the minimum-norm
    solution.
    """
    m, num_responses = logits.shape
    theta = log_softmax(logits) if reward is None else np.asarray(reward)
    design = np.zeros((len(x), m * num_responses))
    target = np.zeros(len(x))
    for row, (xi, yi, yj) in enumerate(zip(x, y, y_prime, strict=True)):
        design[row, xi * num_responses + yi] += beta
        design[row, xi * num_responses + yj] -= beta
        target[row] = theta[xi, yi] - theta[xi, yj]
    change, *_ = np.linalg.lstsq(design, target, rcond=None)
    return change.reshape(m, num_responses)


def components(num_nodes: int, edges) -> np.ndarray:
    """Union-find; returns the smallest node of each node's component."""
    parent = list(range(num_nodes))

    def find(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return np.array([find(node) for node in range(num_nodes)])


def erm_update(logits, x, y, y_prime, beta) -> np.ndarray:
    """The tabular ERM update by union-find over each prompt's graph of sampled pairs."""
    m, num_responses = logits.shape
    theta = log_softmax(logits)
    new = theta.copy()
    for prompt in range(m):
        edges = [(a, b) for xi, a, b in zip(x, y, y_prime, strict=True) if xi == prompt]
        labels = components(num_responses, edges)
        for label in np.unique(labels):
            members = labels == label
            new[prompt, members] += (theta[prompt, members]
                                     - theta[prompt, members].mean()) / beta
    return log_softmax(new)


def erm_update_linear(theta, features, x, y, y_prime, beta, reward=None) -> np.ndarray:
    design = features[x, y] - features[x, y_prime]
    labels = design @ theta if reward is None else reward[x, y] - reward[x, y_prime]
    change, *_ = np.linalg.lstsq(beta * design, labels, rcond=None)
    return theta + change


def run(logits0, rho, beta, T, sample, threshold=0.5) -> dict[str, list[float]]:
    """T rounds of the tabular ERM iteration; ``sample(t, logits)`` returns (x, y, y_prime)."""
    logits = log_softmax(np.asarray(logits0, dtype=float))
    history = {"kappa": [], "failure": [], "mu": [], "gamma": [], "step_gap": []}

    def record(current):
        history["kappa"].append(condition_number(current, rho))
        history["failure"].append(failure_probability(current, rho, threshold))
        history["mu"].append(min_confidence(current, rho))
        history["gamma"].append(margin(current, rho))

    record(logits)
    for t in range(T):
        x, y, y_prime = sample(t, logits)
        updated = erm_update(logits, x, y, y_prime, beta)
        history["step_gap"].append(performance_gap(updated, logits, rho))
        logits = updated
        record(logits)
    return history


def sample_numpy(rng: np.random.Generator, logits, rho, n):
    """Draw n triples with NumPy's generator (a different stream from the kit's)."""
    policy = probs(logits)
    x = rng.choice(len(rho), size=n, p=rho)
    cumulative = np.cumsum(policy[x], axis=1)
    y = (cumulative < rng.random((n, 1)) * cumulative[:, -1:]).sum(axis=1)
    y_prime = (cumulative < rng.random((n, 1)) * cumulative[:, -1:]).sum(axis=1)
    return x, y, y_prime
