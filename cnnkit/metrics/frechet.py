"""The Fréchet distance between two Gaussians, and the symmetric matrix square roots it needs (float64).

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2·Tr((Σ₁Σ₂)^½)

Σ₁Σ₂ is not symmetric, but it has the eigenvalues of the symmetric PSD matrix M = Σ₁^½ Σ₂ Σ₁^½ (AB and BA
share their non-zero eigenvalues, with A = Σ₁^½ and B = Σ₁^½ Σ₂), so Tr((Σ₁Σ₂)^½) = Σᵢ √λᵢ(M). Each square
root comes from an eigendecomposition of a symmetric matrix (A = V diag(λ) Vᵀ ⇒ A^½ = V diag(√λ) Vᵀ), with
round-off's tiny negative eigenvalues set to 0 — no complex parts to discard and no ε·I to add for singular
covariances, unlike the general `scipy.linalg.sqrtm` route.
"""

from __future__ import annotations

import numpy as np


def _symmetric(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {a.shape}")
    return (a + a.T) / 2  # remove round-off asymmetry before eigh


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (float64)."""
    values, vectors = np.linalg.eigh(_symmetric(a, "sqrtm_psd"))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((Σ₁Σ₂)^½) for symmetric PSD Σ₁, Σ₂, as Σ √λ(Σ₁^½ Σ₂ Σ₁^½)."""
    root = sqrtm_psd(sigma1)
    values = np.linalg.eigvalsh(
        _symmetric(root @ _symmetric(sigma2, "trace_sqrt_product") @ root, "trace_sqrt_product")
    )
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), clamped at 0 against round-off."""
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    d = mu1.shape[0] if mu1.ndim == 1 else -1
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"frechet_distance: expected means (D,) and covariances (D, D) of one D, got {mu1.shape}, "
            f"{sigma1.shape}, {mu2.shape}, {sigma2.shape}"
        )
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)
