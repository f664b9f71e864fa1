"""Sample sets generated in chunks and, given a folder, kept there: a long evaluation that is killed resumes.

`sample_set(model, n, ...)` generates n images in chunks of `chunk` images, chunk i from the seed
sequence (seed, i) and its slice of the labels, so the images depend on the seed and the chunk size and not on
how many runs it took to make them. With `store`, each chunk is saved there as soon as it is done
(`<key>.safetensors`, written atomically) and read back instead of generated next time. The key is a hash of
everything that decides the chunk's pixels: the sampling network's weights, the sampler and its settings, the
seed, the chunk's index and size, and its labels; a retrained model or other settings never reuse old chunks.

By default a chunk holds 25,000 denoising passes (`CHUNK_WORK`): 500 images of DDIM-50, 25 of DDPM-1000, about
ten minutes of one core each (twice that with guidance: two network passes a step), so that a killed evaluation
never loses more (5,000 samples take hours, which is why they are kept). At 28×28 a 500-image chunk is 1.6 MB.

Several processes can make one set together, one per core: before generating a chunk a process claims it
(`<key>.safetensors.claim`, created exclusively, holding its host name and process id), skips chunks that
another live process has claimed, and at the end waits for those to appear. A claim whose process is gone (a
killed evaluation's) is taken over.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnnkit.diffusion.gaussian import GaussianDiffusion
from cnnkit.diffusion.generate import generate
from cnnkit.serialization import CheckpointError, load_with_metadata, save

CHUNK_WORK = 25_000  # images × denoising steps per chunk
POLL_SECONDS = 10.0  # how often a process waiting for another's chunks looks for them
UNWRITTEN_CLAIM_SECONDS = 60.0  # a claim still empty after this long was left by a process killed while claiming


def chunk_size(sampler: str, steps: int, timesteps: int) -> int:
    """Images per chunk: CHUNK_WORK over the steps each image takes (DDIM's `steps`, or DDPM's all T)."""
    return max(1, CHUNK_WORK // (timesteps if sampler == "ddpm" else steps))


def weights_digest(model: GaussianDiffusion, use_ema: bool = True) -> str:
    """sha256 of the sampling network's state (names, shapes and bytes, in order)."""
    digest = hashlib.sha256()
    for name, value in model.denoiser(use_ema).state_dict().items():
        array = np.ascontiguousarray(value._data if hasattr(value, "_data") else value)
        digest.update(f"{name}{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def chunk_key(weights: str, settings: dict, index: int, size: int, labels: np.ndarray | None) -> str:
    """The name of a chunk's file: a hash of the weights' digest, the settings, the chunk's index and size (the
    last chunk of a set is shorter) and its labels."""
    text = json.dumps({"weights": weights, "settings": settings, "index": index, "size": size}, sort_keys=True)
    digest = hashlib.sha256(text.encode())
    if labels is not None:
        digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:24]


def sample_set(
    model: GaussianDiffusion,
    n: int,
    *,
    labels: np.ndarray | None = None,
    guidance: float = 0.0,
    sampler: str = "ddim",
    steps: int = 50,
    eta: float = 0.0,
    seed: int = 0,
    image_shape: tuple[int, int, int] = (1, 28, 28),
    store: str | Path | None = None,
    chunk: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] = lambda _: None,
    name: str = "samples",
) -> np.ndarray:
    """n samples (n, C, H, W) in [0, 1] from the EMA network, chunk by chunk (see the module docstring)."""
    if chunk is None:
        chunk = chunk_size(sampler, steps, model.schedule.timesteps)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"sample_set: expected a positive chunk size, got {chunk!r}")
    settings = {"sampler": sampler, "steps": steps if sampler == "ddim" else None, "guidance": guidance,
                "seed": seed, "chunk": chunk, "shape": list(image_shape),
                "schedule": [model.schedule.name, model.schedule.timesteps]}
    if sampler == "ddim" and eta:  # only then: η = 0 chunks keep the keys they had before η was an option
        settings["eta"] = eta
    weights = weights_digest(model) if store is not None else ""
    if store is not None:
        Path(store).mkdir(parents=True, exist_ok=True)
    count = -(-n // chunk)
    parts: dict[int, np.ndarray] = {}
    pending = list(range(count))
    while pending:
        waiting = []
        for index in pending:
            size = min(chunk, n - index * chunk)
            part_labels = None if labels is None else np.asarray(labels)[index * chunk : index * chunk + size]
            key = chunk_key(weights, settings, index, size, part_labels)
            path = None if store is None else Path(store) / f"{key}.safetensors"
            if path is not None and path.is_file():
                parts[index] = _read_chunk(path, (size, *image_shape))
                log(f"  {name}: chunk {index + 1} of {count} read from {path}")
                continue
            claim = None if path is None else _claim(path)
            if path is not None and claim is None:
                waiting.append(index)
                continue
            try:
                images = generate(model, size, labels=part_labels, guidance=guidance, sampler=sampler, steps=steps,
                                  eta=eta, seed=[seed, index], progress=progress, image_shape=image_shape).images
                if path is not None:
                    save({"images": images}, path, metadata={"settings": settings, "index": index, "name": name})
            finally:
                if claim is not None:
                    claim.unlink(missing_ok=True)
            parts[index] = images
            log(f"  {name}: chunk {index + 1} of {count} generated")
        if waiting:
            log(f"  {name}: waiting for chunk{'s' if len(waiting) > 1 else ''} "
                f"{', '.join(str(i + 1) for i in waiting)}, claimed by another process")
            time.sleep(POLL_SECONDS)
        pending = waiting
    return np.concatenate([parts[index] for index in range(count)])


def _claim(path: Path) -> Path | None:
    """Claim the chunk `path` for this process (its `.claim` file, created exclusively); None when another live
    process holds it. A claim whose process has ended is removed and taken."""
    claim = path.with_name(path.name + ".claim")
    for _ in range(2):
        try:
            handle = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _claim_is_live(claim):
                return None
            claim.unlink(missing_ok=True)
            continue
        with os.fdopen(handle, "w") as file:
            json.dump({"host": socket.gethostname(), "pid": os.getpid()}, file)
        return claim
    return None


def _claim_is_live(claim: Path) -> bool:
    """Whether the claim's process still runs (a claim from another host is trusted: its process cannot be seen)."""
    try:
        owner = json.loads(claim.read_text())
        host, pid = owner["host"], int(owner["pid"])
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):  # empty: being written right now, or its writer was killed
        try:
            return time.time() - claim.stat().st_mtime < UNWRITTEN_CLAIM_SECONDS
        except FileNotFoundError:
            return False
    if host != socket.gethostname():
        return True
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _read_chunk(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    try:
        arrays, _ = load_with_metadata(path)
    except CheckpointError:
        raise CheckpointError(f"{path} is a damaged sample chunk (not a safetensors file); delete it and the "
                              "evaluation generates it again") from None
    images = arrays.get("images")
    if images is None or images.shape != shape or images.dtype != np.float32:
        found = None if images is None else f"{images.dtype} {images.shape}"
        raise CheckpointError(f"{path} should hold float32 images of shape {shape}, holds {found}; delete it and "
                              "the evaluation generates it again")
    return images
