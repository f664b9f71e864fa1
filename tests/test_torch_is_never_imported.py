"""PyTorch is a test oracle only: no module of the package imports it, and reading a PyTorch file needs no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cnnkit"
BLOCK_TORCH = "import sys; sys.modules['torch'] = None; "  # `import torch` then raises ImportError


def imported_modules(path: Path) -> set[str]:
    """The top-level names a source file imports (import x.y, from x import y; relative imports excluded)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_of_the_package_imports_torch() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the scan sees the package
    offenders = [str(f.relative_to(PACKAGE)) for f in files if "torch" in imported_modules(f)]
    assert offenders == []


def test_the_scan_finds_an_import_of_torch(tmp_path) -> None:
    planted = tmp_path / "m.py"
    planted.write_text("def f():\n    from torch import nn\n    return nn\n")
    assert "torch" in imported_modules(planted)


def test_convert_weights_reads_a_pth_file_with_torch_blocked(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    state = {"conv.weight": torch.randn(2, 1, 3, 3), "conv.bias": torch.randn(2).to(torch.bfloat16)}
    torch.save({"state_dict": state}, tmp_path / "net.pth")
    source, target = tmp_path / "net.pth", tmp_path / "net.safetensors"
    code = (BLOCK_TORCH + "from cnnkit.cli import main; "
            f"raise SystemExit(main(['convert-weights', r'{source}', r'{target}']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert "converted 1 bfloat16 tensors to float32" in done.stdout
    from safetensors.numpy import load_file

    arrays = load_file(str(tmp_path / "net.safetensors"))
    assert arrays["conv.weight"].dtype.name == "float32" and arrays["conv.bias"].dtype.name == "float32"
    assert (arrays["conv.weight"] == state["conv.weight"].numpy()).all()
    assert (arrays["conv.bias"] == state["conv.bias"].float().numpy()).all()
