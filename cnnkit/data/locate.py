"""Finding a dataset's files on disk, and downloading them (MD5-checked, atomically) when they are nowhere.

Search order, first hit wins:
  1. an explicit `root`: the folder itself, `root/<name>`, `root/<name>/raw` (for every accepted folder name),
     or `root/raw`;
  2. `$CNNKIT_DATA/<name>` (and `<name>/raw`);
  3. `~/.cache/cnnkit/<name>` (and `<name>/raw`);
  4. a system copy (e.g. `/usr/share/datasets/fashion-mnist`, from Debian's `dataset-fashion-mnist`);
  5. with `download=True`, the dataset's canonical addresses, into `root/<name>` when a root was given, else
     into `~/.cache/cnnkit/<name>`.
If all fail, one `DatasetNotFoundError` says where it looked and how to get the data.
Only downloads are checked against the published MD5s; a copy found on disk is validated by parsing it instead
(Debian re-compressed its Fashion-MNIST .gz files in 2020: their MD5s differ from the published ones).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from cnnkit.data.errors import ChecksumError, DatasetNotFoundError, DownloadError

T = TypeVar("T")

ENV_VAR = "CNNKIT_DATA"
CHUNK = 1 << 20
urlopen = urllib.request.urlopen  # module-level so tests can substitute an opener


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset may live and where it comes from: plain data, one per dataset."""

    name: str  # folder name under $CNNKIT_DATA and ~/.cache/cnnkit, e.g. "fashion-mnist"
    title: str  # how messages name it, e.g. "Fashion-MNIST"
    aliases: tuple[str, ...] = ()  # other folder names accepted under a root, e.g. torchvision's "FashionMNIST"
    mirrors: tuple[str, ...] = ()  # base URLs, tried in order; a file's URL is mirror + filename
    md5: tuple[tuple[str, str], ...] = ()  # (filename, published MD5) of every downloadable file
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None
    homepage: str = ""
    folder_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder_names", (self.name, *self.aliases))

    def checksum(self, filename: str) -> str | None:
        return dict(self.md5).get(filename)


def cache_root() -> Path:
    """~/.cache/cnnkit (HOME decides, so tests can move it)."""
    return Path.home() / ".cache" / "cnnkit"


def search_places(spec: DatasetSpec, root: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """Every folder to look in, in order, each with a short note on why it is there."""
    places: list[tuple[Path, str]] = []
    if root is not None:
        base = Path(root).expanduser()
        places.append((base, "root"))
        for n in spec.folder_names:
            places += [(base / n, "root"), (base / n / "raw", "root")]
        places.append((base / "raw", "root"))
    env = os.environ.get(ENV_VAR)
    if env:
        for n in spec.folder_names:
            places += [(Path(env).expanduser() / n, f"${ENV_VAR}"), (Path(env).expanduser() / n / "raw", f"${ENV_VAR}")]
    places += [(cache_root() / spec.name, "cache"), (cache_root() / spec.name / "raw", "cache")]
    places += [(Path(d), "system copy") for d in spec.system_dirs]
    unique: dict[Path, str] = {}
    for place, why in places:
        unique.setdefault(place, why)
    return list(unique.items())


def download_target(spec: DatasetSpec, root: str | os.PathLike | None) -> Path:
    """Where a download goes: root/<name> when a root was given (so datasets sharing file names do not collide)."""
    return (Path(root).expanduser() if root is not None else cache_root()) / spec.name


def md5_of(path: str | os.PathLike) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _progress_bar(total: int | None, name: str, enabled: bool):
    """A tqdm bar when tqdm is installed and wanted, else a stand-in that ignores updates."""
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a declared dependency, but a missing bar must never stop a download
        enabled = False
    if not enabled:
        class _Silent:
            def update(self, n: int) -> None:
                pass

            def close(self) -> None:
                pass

        return _Silent()
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name)


def download_file(url: str, dest: str | os.PathLike, md5: str | None = None, progress: bool = True,
                  timeout: float = 60.0) -> Path:
    """Fetch url to dest through a temporary file in dest's folder, check its MD5, then rename it into place.

    On any failure (network, checksum, disk) the temporary file is removed and nothing appears at dest.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
            bar = _progress_bar(int(length) if length else None, dest.name, progress)
            try:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
        got = digest.hexdigest()
        if md5 is not None and got != md5.lower():
            raise ChecksumError(f"{url}: MD5 {got} does not match the published {md5}; the download was discarded")
        os.replace(tmp, dest)  # atomic on one file system: a reader never sees a half-written file
        return dest
    except ChecksumError:
        raise
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors; ValueError: unknown URL scheme
        raise DownloadError(f"{url}: download failed ({error})") from error
    finally:
        tmp.unlink(missing_ok=True)


def download_missing(spec: DatasetSpec, files: Sequence[str], target: Path, progress: bool = True) -> list[str]:
    """Download every file of `files` absent from target, each from the first mirror that works; returns failures."""
    failures: list[str] = []
    for filename in files:
        if (target / filename).is_file():
            continue
        errors = []
        for mirror in spec.mirrors:
            try:
                download_file(mirror + filename, target / filename, spec.checksum(filename), progress)
                break
            except DownloadError as error:
                errors.append(str(error))
        else:
            failures.append("; ".join(errors) if errors else f"{filename}: no download address is known")
            return failures  # the rest would be useless without this one
    return failures


def find_dataset(spec: DatasetSpec, probe: Callable[[Path], T | None], files: Sequence[str], wanted: str,
                 root: str | os.PathLike | None = None, download: bool = True,
                 progress: bool = True) -> tuple[Path, T]:
    """The first folder (in the documented order) where `probe(folder)` finds the data, and what probe returned.

    `files` are the downloadable file names this request needs; `wanted` describes the files for messages.
    """
    places = search_places(spec, root)
    for place, _ in places:
        if place.is_dir():
            found = probe(place)
            if found is not None:
                return place, found
    failures: list[str] = []
    target = download_target(spec, root)
    if download:
        failures = download_missing(spec, files, target, progress)
        if not failures and target.is_dir():
            found = probe(target)
            if found is not None:
                return target, found
            failures.append(f"the files downloaded into {target} are not the ones expected")
    raise DatasetNotFoundError(not_found_message(spec, wanted, files, places, target, download, failures))


def not_found_message(spec: DatasetSpec, wanted: str, files: Sequence[str], places: list[tuple[Path, str]],
                      target: Path, download: bool, failures: list[str]) -> str:
    """One paragraph: the dataset, every place looked in, why the download did not help, and how to get the data."""
    looked = ", ".join(f"{place} ({why}{'' if place.is_dir() else ', missing'})" for place, why in places)
    env_note = "" if os.environ.get(ENV_VAR) else f" (${ENV_VAR} is not set)"
    if not download:
        dl = "Nothing was downloaded because download=False."
    else:
        dl = f"Downloading into {target} failed: {' | '.join(failures)}."
    urls = " and ".join(spec.mirrors[0] + f for f in files) if spec.mirrors else spec.homepage
    how = [f"download {urls} into {target} (or run with download=True where there is internet)"]
    if spec.apt_package:
        how.append(f"install Debian's copy with `apt-get install {spec.apt_package}`")
    how.append(f"put the files in a folder and pass it as root= (or --data-dir), or set ${ENV_VAR}")
    return (f"{spec.title} not found: looked for {wanted} in {looked}{env_note}. {dl} "
            f"To get it: {'; or '.join(how)}.")


def dataset_folder(dataset: object) -> str | None:
    """The folder a dataset's files were read from (`folder`, else `root`), looking through wrappers (`.dataset`)."""
    for _ in range(8):  # a Subset of a Subset of ...: a few levels at most
        found = getattr(dataset, "folder", None) or getattr(dataset, "root", None)
        if found is not None:
            return str(Path(found).resolve())
        dataset = getattr(dataset, "dataset", None)
        if dataset is None:
            break
    return None


def check_root_used(root: str | os.PathLike, title: str, *folders: str | os.PathLike) -> None:
    """Refuse data found outside an explicitly given data folder: an explicit folder is used, never skipped."""
    base = Path(root).expanduser().resolve()
    for folder in folders:
        found = Path(folder).resolve()
        if found != base and base not in found.parents:
            raise DatasetNotFoundError(f"--data-dir {root} holds no {title} files (a copy was found in {found}, "
                                       "which is not used when --data-dir is given); point --data-dir at the "
                                       "folder with the files, or leave it out to search the usual places")
