"""Keep the data tests off the real machine: HOME in tmp, no $CNNKIT_DATA, no system copies, no network."""

from __future__ import annotations

import dataclasses
import urllib.error

import pytest

from cnnkit.data import CIFAR10, KMNIST, MNIST, FashionMNIST, locate

REAL_URLOPEN = locate.urlopen


def local_only_urlopen(url, *args, **kwargs):
    """file:// URLs work as usual; anything else fails as it would without a network."""
    if not str(url).startswith("file://"):
        raise urllib.error.URLError(f"the data tests do not use the network ({url})")
    return REAL_URLOPEN(url, *args, **kwargs)


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")  # outside tmp_path, which stays empty for the test
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    monkeypatch.setattr(locate, "urlopen", local_only_urlopen)
    for cls in (MNIST, FashionMNIST, KMNIST, CIFAR10):
        monkeypatch.setattr(cls, "spec", dataclasses.replace(cls.spec, system_dirs=()))
    return home


SYSTEM_FASHION_SPEC = FashionMNIST.spec  # captured before any test patches it
