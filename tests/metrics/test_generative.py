"""Generative measures: the Fréchet distance (by hand and against scipy's sqrtm), FID of a set with itself,
classifier features, label agreement, coverage, the copy check, the baselines and the feature model's loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.metrics import baselines
from cnnkit.metrics.copy_check import copy_check, nearest_distances
from cnnkit.metrics.frechet import frechet_distance, sqrtm_psd, trace_sqrt_product
from cnnkit.metrics.generative import (
    FeatureExtractor,
    GaussianStats,
    class_coverage,
    fid,
    label_agreement,
    load_feature_model,
)


def random_covariance(rng: np.random.Generator, d: int, rank: int | None = None) -> np.ndarray:
    a = rng.standard_normal((d, rank or 2 * d))
    return a @ a.T / a.shape[1]


def test_matrix_square_roots_match_scipy() -> None:
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    s1, s2 = random_covariance(rng, 12), random_covariance(rng, 12)
    np.testing.assert_allclose(sqrtm_psd(s1), scipy_linalg.sqrtm(s1).real, atol=1e-10)
    root = sqrtm_psd(s1)
    np.testing.assert_allclose(root @ root, s1, atol=1e-12)
    expected = np.trace(scipy_linalg.sqrtm(s1 @ s2)).real
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-9)
    singular = random_covariance(rng, 12, rank=4)  # rank-deficient: no ε·I needed
    assert trace_sqrt_product(singular, s2) == pytest.approx(np.trace(scipy_linalg.sqrtm(singular @ s2)).real, rel=1e-6)


def test_frechet_distance_by_hand() -> None:
    # 1-D: (μ1 − μ2)² + σ1² + σ2² − 2σ1σ2 = (μ1 − μ2)² + (σ1 − σ2)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]])) == pytest.approx(
        4 + 1
    )
    # diagonal covariances: a sum over the axes
    d = frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.array([1.0, 1.0]), np.diag([9.0, 16.0]))
    assert d == pytest.approx(2 + (1 - 3) ** 2 + (2 - 4) ** 2)
    with pytest.raises(ValueError, match="means"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift() -> None:
    features = np.random.default_rng(0).standard_normal((500, 16))
    assert fid(features, features) == pytest.approx(0.0, abs=1e-8)
    assert fid(features, features + 0.5) == pytest.approx(16 * 0.25, rel=1e-6)  # only the mean moves
    stats = GaussianStats.of(features)
    assert stats.count == 500 and fid(stats, features) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="at least 2 feature vectors"):
        GaussianStats.of(features[:1])


class TinyClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(16, 5)
        self.act = nn.ReLU()
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        return self.out(self.act(self.hidden(self.flatten(x))))


def test_feature_extractor_gives_the_penultimate_layer_and_logits() -> None:
    cnnkit.manual_seed(0)
    model = TinyClassifier()
    images = np.random.default_rng(1).random((7, 1, 4, 4)).astype(np.float32)
    extractor = FeatureExtractor(model, mean=(0.5,), std=(0.25,), batch_size=3)
    features, logits = extractor(images)
    x = ((images - 0.5) / 0.25).reshape(7, 16)
    hidden = np.maximum(x @ model.hidden.weight._data.T + model.hidden.bias._data, 0)
    np.testing.assert_allclose(features, hidden, atol=1e-5)
    np.testing.assert_allclose(logits, hidden @ model.out.weight._data.T + model.out.bias._data, atol=1e-5)
    named, _ = FeatureExtractor(model, layer="hidden", mean=(0.5,), std=(0.25,))(images)
    np.testing.assert_allclose(np.maximum(named, 0), hidden, atol=1e-5)  # the named layer's output, before ReLU
    assert not model.hidden._forward_hooks and not model.out._forward_pre_hooks  # hooks removed


def test_label_agreement_and_coverage_by_hand() -> None:
    logits = np.eye(3)[[0, 0, 1, 2, 2, 2]]
    overall, per_class = label_agreement(logits, np.array([0, 1, 1, 2, 2, 0]), 3)
    assert overall == pytest.approx(4 / 6)
    np.testing.assert_allclose(per_class, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(class_coverage(logits, 4), [2 / 6, 1 / 6, 3 / 6, 0])


def test_copy_check_flags_copies_of_training_images() -> None:
    rng = np.random.default_rng(0)
    train, test = rng.random((300, 1, 5, 5)), rng.random((200, 1, 5, 5))
    exact = np.sqrt(((test.reshape(200, 1, 25) - train.reshape(1, 300, 25)) ** 2).sum(-1)).min(axis=1)
    np.testing.assert_allclose(nearest_distances(test, train, chunk=64), exact, rtol=1e-4)
    fresh = copy_check(rng.random((100, 1, 5, 5)), train, test)
    copies = copy_check(train[:100] + 0.001, train, test)
    assert fresh.threshold == pytest.approx(np.percentile(exact, 1), rel=1e-4)
    assert fresh.share_below < 0.1 and copies.share_below == 1.0


def test_baselines() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 50)
    images = np.concatenate([np.zeros((50, 1, 3, 3)), np.ones((50, 1, 3, 3))]) * 0.5 + rng.random((100, 1, 3, 3)) * 0.1
    means, mean_labels = baselines.class_mean_images(images, labels, 5, 2)
    np.testing.assert_array_equal(mean_labels, [0, 1, 0, 1, 0])
    np.testing.assert_allclose(means[1], images[50:].mean(axis=0), rtol=1e-6)
    pca, pca_labels = baselines.pca_gaussian_images(images, labels, 2000, 2, rng, dims=4)
    assert pca.shape == (2000, 1, 3, 3) and pca.min() >= 0 and pca.max() <= 1
    np.testing.assert_allclose(pca[pca_labels == 1].mean(axis=0), images[50:].mean(axis=0), atol=0.01)
    real, real_labels = baselines.real_images(images, labels, 10, rng)
    assert len(np.unique(real.reshape(10, -1), axis=0)) == 10 and real.dtype == np.float32
    noise, _ = baselines.noise_images(4, (1, 3, 3), 2, rng)
    assert noise.shape == (4, 1, 3, 3) and 0 <= noise.min() and noise.max() < 1
    with pytest.raises(ValueError, match="asked for 200 images from a set of 100"):
        baselines.real_images(images, labels, 200, rng)


def test_load_feature_model_names_the_missing_file_and_loads_a_checkpoint(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no feature classifier at .*nothing.safetensors.*fashion_vgg"):
        load_feature_model(tmp_path / "nothing.safetensors")
    from cnnkit.models import lenet5
    from cnnkit.training.checkpoint import save_checkpoint

    model = lenet5()
    meta = {
        "kind": "classification",
        "config": {"model": "lenet5", "model_args": {}},
        "epoch": 1,
        "data": {
            "dataset": "fashion-mnist",
            "classes": [str(i) for i in range(10)],
            "input_shape": [1, 28, 28],
            "mean": [0.286],
            "std": [0.353],
        },
    }
    save_checkpoint(tmp_path / "best.safetensors", model.state_dict(), None, meta)
    extractor = load_feature_model(tmp_path / "best.safetensors")
    features, logits = extractor(np.random.default_rng(0).random((3, 1, 28, 28)))
    assert features.shape == (3, 84) and logits.shape == (3, 10)  # LeNet-5's F6 feeds its last Linear
    assert extractor.classes == [str(i) for i in range(10)]


FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_shipped_feature_classifier_is_the_fashion_vgg_run() -> None:
    extractor = load_feature_model()  # cnnkit/models/weights/fashion_vgg.safetensors, installed with the package
    assert extractor.classes[0] == "T-shirt/top" and len(extractor.classes) == 10
    features, logits = extractor(np.zeros((2, 1, 28, 28), np.float32))
    assert features.shape == (2, 256) and logits.shape == (2, 10)  # fashion_vgg's penultimate layer


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_shipped_feature_classifier_classifies_the_test_images() -> None:
    from cnnkit.data import FashionMNIST
    from cnnkit.data.loader import gather_arrays

    test = FashionMNIST(root=FASHION, train=False)
    images, labels = gather_arrays(test, np.arange(1000))
    _, logits = load_feature_model()(images)
    assert (logits.argmax(1) == labels).mean() >= 0.92  # the run measured 93.90 % on all 10,000
