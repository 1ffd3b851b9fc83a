"""The layout keeps its promises: every package has its place in the layer contract, every
private module is forbidden to the other packages, and only ``cli`` parses command lines.
(``lint-imports`` checks the contracts themselves; these tests keep the contracts complete as
the code grows.)"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "napari_forgetting"


def _contracts() -> list[dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def _packages() -> set[str]:
    return {
        f"napari_forgetting.{p.name}"
        for p in PACKAGE.iterdir()
        if p.is_dir() and (p / "__init__.py").is_file()
    }


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def test_every_package_is_in_the_layer_contract():
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    assert named == _packages()


def test_every_private_module_is_forbidden_to_the_other_packages():
    forbidden = [c for c in _contracts() if c["type"] == "forbidden"]
    private = [
        m
        for m in _modules()
        if any(part.startswith("_") and not part.startswith("__") for part in m.split(".")[2:])
    ]
    assert "napari_forgetting.dynamics._arrays" in private  # the check sees private modules
    for module in private:
        owner = ".".join(module.split(".")[:2])
        others = _packages() - {owner}
        covering = [
            c
            for c in forbidden
            if any(module == f or module.startswith(f + ".") for f in c["forbidden_modules"])
        ]
        sources = {s for c in covering for s in c["source_modules"]}
        assert others <= sources, f"{module}: no contract forbids it to {others - sources}"


def test_only_the_cli_package_parses_command_lines():
    offenders = []
    for name, path in _modules().items():
        if name.startswith("napari_forgetting.cli"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                offenders.append(name)
            if isinstance(node, ast.ImportFrom) and node.module == "argparse":
                offenders.append(name)
    assert offenders == []


def test_private_napari_qt_attributes_only_in_their_one_guarded_place():
    # napari warns that viewer.window._qt_window / _qt_viewer may go: one module reaches
    # them (guarded), everything else goes through it or through Qt's parent chain
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "napari_forgetting"
    users = sorted(
        p.relative_to(src).as_posix()
        for p in src.rglob("*.py")
        if "._qt_window" in p.read_text()
        or "._qt_viewer" in p.read_text()
        or '"_qt_window"' in p.read_text()
        or '"_qt_viewer"' in p.read_text()
    )
    assert users == ["_napari/qt_access.py"]


#: The rooms that grew several jobs each once (issue 32): a class here holds one job in at most
#: about 400 lines, a function in at most 80.
SMALL_ROOMS = ("training", "dynamics")
MAX_CLASS_LINES, MAX_FUNCTION_LINES = 420, 80


@pytest.mark.parametrize("package", SMALL_ROOMS)
def test_the_trainer_and_tracker_packages_keep_small_rooms(package):
    too_big = []
    for path in sorted((PACKAGE / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            limit = (
                MAX_CLASS_LINES if isinstance(node, ast.ClassDef)
                else MAX_FUNCTION_LINES if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                else None
            )  # fmt: skip
            if limit is not None and node.end_lineno - node.lineno + 1 > limit:
                too_big.append(f"{path.name}:{node.lineno} {node.name}")
    assert not too_big, too_big


def test_no_module_is_named_after_a_standard_library_module():
    clashes = sorted(
        name for name, path in _modules().items()
        if path.stem in sys.stdlib_module_names and path.stem != "__init__"
    )  # fmt: skip
    assert not clashes, clashes
