"""report.html in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run) loads the page,
every image decodes (natural width > 0, recorded into the DOM by the page's own script), the text shows the
accuracy, and a screenshot is kept under pytest's tmp folder."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from PIL import Image

from tests.report.conftest import eval_accuracy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it when run as root)",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-extensions",
    "--allow-file-access-from-files",
]


def _chromium(*args: str, home) -> subprocess.CompletedProcess:
    # a fresh profile per call, so no state leaks between runs or into the user's own
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={home}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_every_image_loads_and_the_accuracy_shows(reported_run, tmp_path):
    run_dir, page = reported_run
    url = page.resolve().as_uri()
    result = _chromium("--virtual-time-budget=10000", "--dump-dom", url, home=tmp_path / "profile-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    widths = [int(w) for w in re.findall(r'<img [^>]*data-natural-width="(\d+)"', dom)]
    images = dom.count("<img ")
    assert images == 13 and len(widths) == images, "the page's script did not record every image"
    assert all(width > 0 for width in widths), f"images that did not load: natural widths {widths}"
    assert f'data-images-loaded="{images}/{images}"' in dom
    best = eval_accuracy(run_dir)
    text = re.sub(r"<[^>]+>", " ", dom)
    assert f"test accuracy {best:.4f}" in text


def test_the_gradient_flow_figures_show(reported_run, tmp_path):
    """The section's two figures decode in the browser, at their full size, with their captions."""
    url = reported_run[1].resolve().as_uri()
    result = _chromium("--virtual-time-budget=10000", "--dump-dom", url, home=tmp_path / "profile-flow")
    assert result.returncode == 0, result.stderr[-2000:]
    section = result.stdout.split("<h2>Gradient flow</h2>", 1)[1].split("<h2>", 1)[0]
    widths = [int(w) for w in re.findall(r'<img [^>]*data-natural-width="(\d+)"', section)]
    assert widths == [1200, 1200], widths  # both 12-inch figures at 100 dpi
    text = re.sub(r"<[^>]+>", " ", section)
    assert "vanishing gradient" in text and "the first record (step 1)" in text


def test_screenshot_is_kept(reported_run, tmp_path):
    shot = tmp_path / "report.png"
    url = reported_run[1].resolve().as_uri()
    result = _chromium(f"--screenshot={shot}", "--window-size=1200,1600", url, home=tmp_path / "profile-shot")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1200, 1600)
        assert image.convert("L").getextrema()[0] < 100  # dark text and pictures on the white page
    print(f"screenshot of report.html: {shot}")
