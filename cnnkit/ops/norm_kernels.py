"""Compiled loops of batch norm over an (N, C, S) array: the statistics, the affine map and the backward sums.

Batch norm is memory-bound: a few operations per element. Written with NumPy it streams the activations
through memory about eight times forward and twelve times backward (one pass per call, each with a fresh
temporary); these loops need three passes forward and five backward, in place of a dozen, and run on every
core (`prange`, see `cnnkit.ops.compiled`):

    forward   moments(x) → μ, σ²          one read of x
              affine(x, a, b) → a·x + b    one read, one write     (a = γ/√(σ² + ε), b = β − μ·a, as PyTorch)
    backward  grad_sums(g, x, μ) → Σg, Σg·(x − μ)                 one read of g and x
              grad_input(g, x, …) → dx = a·(g − Σg/M) − k·(x − μ)  one read of each, one write

Sums are per channel, over N and S, kept in float64: each channel accumulates a row of S partial sums over
the N images (an element-wise loop the compiler vectorises), then adds the row up. Moments are taken about
a shift K (the channel's first value): Σ(x − K) and Σ(x − K)², so the variance Σ(x − K)²/M − (Σ(x − K)/M)²
does not cancel away when |μ| ≫ σ.
"""

from __future__ import annotations

import numpy as np

from cnnkit.ops.compiled import compiled, prange


@compiled
def moments(x):  # noqa: ANN001, ANN201 - a compiled loop nest
    """Per-channel mean and biased variance of x (N, C, S), N·S > 0, as float64 (C,) arrays."""
    n, c, s = x.shape
    mean = np.empty(c, np.float64)
    var = np.empty(c, np.float64)
    for ch in prange(c):
        shift = np.float64(x[0, ch, 0])
        row = np.zeros(s, np.float64)  # Σ_n (x − K), one entry per position s
        row2 = np.zeros(s, np.float64)  # Σ_n (x − K)²
        for i in range(n):
            plane = x[i, ch]
            for j in range(s):
                d = plane[j] - shift
                row[j] += d
                row2[j] += d * d
        m = n * s
        mu = row.sum() / m
        mean[ch] = shift + mu
        var[ch] = max(row2.sum() / m - mu * mu, 0.0)
    return mean, var


@compiled
def affine(x, a, b, out):  # noqa: ANN001, ANN201
    """out[n, c, s] = a[c]·x[n, c, s] + b[c], one (image, channel) plane per iteration."""
    n, c, s = x.shape
    for p in prange(n * c):
        i, ch = p // c, p % c
        src, dst = x[i, ch], out[i, ch]
        scale, shift = a[ch], b[ch]
        for j in range(s):
            dst[j] = src[j] * scale + shift


@compiled
def grad_sums(g, x, mean):  # noqa: ANN001, ANN201
    """Per-channel Σg and Σg·(x − μ) of two (N, C, S) arrays, as float64 (C,) arrays."""
    n, c, s = x.shape
    sum_g = np.empty(c, np.float64)
    sum_gx = np.empty(c, np.float64)
    for ch in prange(c):
        mu = mean[ch]
        row = np.zeros(s, np.float64)
        row2 = np.zeros(s, np.float64)
        for i in range(n):
            gp, xp = g[i, ch], x[i, ch]
            for j in range(s):
                gj = np.float64(gp[j])
                row[j] += gj
                row2[j] += gj * (xp[j] - mu)
        sum_g[ch] = row.sum()
        sum_gx[ch] = row2.sum()
    return sum_g, sum_gx


@compiled
def grad_input(g, x, mean, a, k, c0, out):  # noqa: ANN001, ANN201
    """out = a·g − k·(x − μ) − c0 per channel: dx of batch norm (a = γ·inv_std, k = a·inv_std²·Σg(x − μ)/M,
    c0 = a·Σg/M), one (image, channel) plane per iteration."""
    n, c, s = x.shape
    for p in prange(n * c):
        i, ch = p // c, p % c
        gp, xp, dst = g[i, ch], x[i, ch], out[i, ch]
        scale, slope, offset, mu = a[ch], k[ch], c0[ch], mean[ch]
        for j in range(s):
            dst[j] = scale * gp[j] - slope * (xp[j] - mu) - offset
