"""Plain numpy twins of every kernel in ``simnet/kernels``.

Slow, readable and obviously correct: each follows the equations of ``MODEL.md``
line by line, with full arrays instead of lazy bookkeeping. They consume random
numbers in the same order as the kernels, so a kernel and its twin fed the same
Generator state must agree to rounding.
"""

from __future__ import annotations

import numpy as np


def random_head(
    rng: np.random.Generator, k: int, p: int, identity: bool
) -> tuple[np.ndarray, int]:
    """A head for a test and the feature dimension it takes: the identity (shape
    (0, k): the k features are the logits) or a standard normal k x p matrix."""
    if identity:
        return np.empty((0, k)), k
    return rng.standard_normal((k, p)), p


def ce_grad(x: np.ndarray, head: np.ndarray, label: int) -> tuple[np.ndarray, float]:
    """``W^T (softmax(W x) - e_label)`` and the loss; empty head = identity."""
    z = x if head.shape[0] == 0 else head @ x
    zmax = z.max()
    lse = zmax + np.log(np.sum(np.exp(z - zmax)))
    r = np.exp(z - lse)
    r[label] -= 1.0
    g = r if head.shape[0] == 0 else head.T @ r
    return g, float(lse - z[label])


def hfs_features(lam, phi, u, labels, ancestor_matrix, gamma):
    """``X_i = sum_{v in anc(c_i)} lam_v phi_v + gamma u_i`` for every sample."""
    a = ancestor_matrix.astype(np.float64)
    return (a @ (lam[:, None] * phi))[labels] + gamma * u


def hfs_sgd_steps(
    lam,
    phi,
    u,
    labels,
    ancestor_matrix,
    eta_phi,
    eta_lam,
    decay,
    eta_u,
    gamma,
    sigma,
    head,
    batches,
    rate_scale,
    rng,
):
    """HFS minibatch SGD (MODEL.md section 2), in place; the rates of step t are
    multiplied by ``rate_scale[t]``.

    Returns the failing row or -1.
    """
    a = ancestor_matrix
    bsize = batches.shape[1]
    for t, batch in enumerate(batches):
        x = hfs_features(lam, phi, u, labels, a, gamma)[batch]
        if not np.all(np.isfinite(x)):
            return t
        g = np.array([ce_grad(x[b], head, labels[i])[0] for b, i in enumerate(batch)])
        member = a[labels[batch]].astype(np.float64)  # (B, V): v in anc(c_i)
        m = member.T @ g / bsize  # (V, p): gradient of the batch-mean loss
        touched = []
        for i in batch:
            for v in np.flatnonzero(a[labels[i]]):
                if v not in touched:
                    touched.append(v)
        touched = np.array(touched, dtype=np.int64)
        keep = 1.0 - decay[touched]
        old_phi = phi[touched].copy()
        old_lam = lam[touched].copy()
        s = rate_scale[t]
        phi[touched] = (
            keep[:, None] * old_phi
            - (s * eta_phi[touched] * old_lam)[:, None] * m[touched]
        )
        lam[touched] = keep * old_lam - s * eta_lam[touched] * np.sum(
            old_phi * m[touched], axis=1
        )
        for b, i in enumerate(batch):
            u[i] -= s * eta_u * gamma * g[b] / bsize
        if sigma > 0:
            for v in touched:
                phi[v] += sigma * rng.standard_normal(phi.shape[1])
                lam[v] += sigma * rng.standard_normal()
            for i in dict.fromkeys(batch.tolist()):
                u[i] += sigma * rng.standard_normal(u.shape[1])
    return -1


def impact_from_basis(basis, coef_row):
    return np.tensordot(coef_row, basis, axes=1)


def lesde_sgd_steps(
    x, labels, basis, coef, head, batches, sigma, last_touch, rng, step0
):
    """Discrete SGD imitation on explicit particles: every particle j moves by
    ``-(1/|B|) sum_{i in B} E[c_j, c_i] g_i``; the noise owed by a touched particle is
    drawn when it is touched (same draws as the lazy kernel)."""
    bsize = batches.shape[1]
    for t, batch in enumerate(batches):
        step = step0 + t
        g = np.empty((bsize, x.shape[1]))
        for b, i in enumerate(batch):
            if sigma > 0 and last_touch[i] < step:
                x[i] += (
                    sigma
                    * np.sqrt(step - last_touch[i])
                    * rng.standard_normal(x.shape[1])
                )
                last_touch[i] = step
            if not np.all(np.isfinite(x[i])):
                return t
            g[b] = ce_grad(x[i], head, labels[i])[0]
        e = impact_from_basis(basis, coef[t])
        for b, i in enumerate(batch):
            x -= (e[labels, labels[i]][:, None] * g[b][None, :]) / bsize
    return -1


def flush_noise(x, sigma, last_touch, rng, step):
    for i in range(x.shape[0]):
        if last_touch[i] < step:
            x[i] += (
                sigma * np.sqrt(step - last_touch[i]) * rng.standard_normal(x.shape[1])
            )
            last_touch[i] = step


_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
KEY_HIGH = 2**63 - 1


def mix64(z):
    """SplitMix64's output function on uint64 arrays (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def stream_from_key(key):
    """``(seed, gamma)``: ``seed = mix64(key)``; ``gamma`` = SplittableRandom's
    ``mixGamma(key + GOLDEN)`` (fmix64, forced odd, >= 24 bit transitions)."""
    k = np.array([key], dtype=np.uint64)
    seed = mix64(k)[0]
    z = k + _GOLDEN
    z = (z ^ (z >> _U64(33))) * _U64(0xFF51AFD7ED558CCD)
    z = (z ^ (z >> _U64(33))) * _U64(0xC4CEB9FE1A85EC53)
    z = ((z ^ (z >> _U64(33))) | _U64(1))[0]
    transitions = bin(int(z ^ (z >> _U64(1)))).count("1")
    gamma = z ^ _U64(0xAAAAAAAAAAAAAAAA) if transitions < 24 else z
    return seed, gamma


def stream_words(seed, gamma, j):
    """Words ``mix64(seed + (j + 1) gamma)``: SplitMix64 outputs j of the stream."""
    j = np.asarray(j, dtype=np.uint64)
    return mix64(_U64(seed) + (j + _U64(1)) * _U64(gamma))


def normal_block(seed, gamma, c0, n):
    """The normals ``c = c0 .. c0 + n - 1`` of the stream: Box-Muller on the words
    of pair ``m = c // 2``.

    ``R = sqrt(-2 ln u)`` with ``u = (a | 1) / 2^64`` from ``a = w(2m)``; the angle
    ``theta = (pi/2) (quadrant + f) - pi/4`` from ``b = w(2m + 1)`` (quadrant = top 2
    bits, f = the next 53 bits / 2^53); even c gets ``R cos(theta)``, odd c
    ``R sin(theta)``.
    """
    c = _U64(c0) + np.arange(n, dtype=np.uint64)
    m = c >> _U64(1)
    a = stream_words(seed, gamma, m + m)
    b = stream_words(seed, gamma, m + m + _U64(1))
    u = (a | _U64(1)).astype(np.float64) * 2.0**-64
    radius = np.sqrt(-2.0 * np.log(u))
    quadrant = (b >> _U64(62)).astype(np.float64)
    f = ((b << _U64(2)) >> _U64(11)).astype(np.float64) * 2.0**-53
    theta = (quadrant + f) * (np.pi / 2) - np.pi / 4
    return radius * np.where(c % _U64(2) == 0, np.cos(theta), np.sin(theta))


def lesde_sde_steps(x, labels, basis, coef, head, dt, sigma, gradient_noise, rng):
    """Euler-Maruyama step.

    ``X_i += -(dt/n) sum_j E[c_i, c_j] g_j + s_i sqrt(dt) Z_i`` with ``Z_i[q]`` the
    normal ``i p + q`` (:func:`normal_block`) of the stream of a key drawn as
    ``rng.integers(0, 2**63 - 1)`` once per noisy step.
    """
    n = x.shape[0]
    k = basis.shape[1]
    for t in range(coef.shape[0]):
        if not np.all(np.isfinite(x)):
            return t
        g = np.array([ce_grad(x[i], head, labels[i])[0] for i in range(n)])
        e = impact_from_basis(basis, coef[t])
        drift = -dt * (e[labels][:, labels] @ g) / n
        assert drift.shape == x.shape and k == e.shape[0]
        if sigma > 0:
            seed, gamma = stream_from_key(rng.integers(0, KEY_HIGH))
            noise = normal_block(seed, gamma, 0, x.size).reshape(x.shape)
            scale = (
                sigma * np.linalg.norm(g, axis=1)
                if gradient_noise
                else np.full(n, sigma)
            )
            x += drift + (scale * np.sqrt(dt))[:, None] * noise
        else:
            x += drift
    if not np.all(np.isfinite(x)):
        return coef.shape[0] - 1
    return -1


def ode_surrogate(m, head, surrogate):
    """Class-averaged negative gradient G_k for each surrogate code.

    Codes: 0 ce, 1 I, 2 L, 3 ETF.
    """
    k = m.shape[0]
    d = np.eye(k) - 1.0 / k  # row k is d_k = e_k - 1/K
    if surrogate == 0:
        return -np.array([ce_grad(m[c], head, c)[0] for c in range(k)])
    if surrogate == 1:
        return m.copy()
    if surrogate == 2:
        s = np.sum(m * d, axis=1) / np.sum(d * d, axis=1)
        return s[:, None] * d
    return d


def lesde_ode_steps(m, basis, coef, head, dt, surrogate, method):
    """Forward Euler (method 0) or classical RK4 (method 1) on
    ``dm_k/dt = (1/K) sum_k' E(t)[k, k'] G_k'``."""
    k = m.shape[0]

    def f(state, c):
        return impact_from_basis(basis, c) @ ode_surrogate(state, head, surrogate) / k

    for t in range(coef.shape[0]):
        if method == 0:
            m += dt * f(m, coef[t, 0])
        else:
            k1 = f(m, coef[t, 0])
            k2 = f(m + 0.5 * dt * k1, coef[t, 1])
            k3 = f(m + 0.5 * dt * k2, coef[t, 1])
            k4 = f(m + dt * k3, coef[t, 2])
            m += dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.isfinite(m)):
            return t
    return -1
