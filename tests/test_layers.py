"""Dependencies flow one way: benchmarks -> bot -> retrieval -> index, only tests import tests,
and Telegram stays at the bot's edge. Parsed from the source, not imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("index", "retrieval", "bot")
TESTS = {"tests", "e2e", "conftest"}  # the test suite, as a test module may import it
FORBIDDEN = {
    "index": {"retrieval", "bot", "benchmarks", *TESTS},
    "retrieval": {"bot", "benchmarks", *TESTS},
    "bot": {"benchmarks", *TESTS},
    "benchmarks": TESTS,
}
# The only modules that talk to python-telegram-bot; the rest of bot/ runs without Telegram.
TELEGRAM_EDGE = ["bot/app.py", "bot/handlers.py"]


def imported(path: Path) -> Iterator[str]:
    """The absolute module names ``path`` imports, at any depth (lazy imports included)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package):
    for path in (ROOT / package).rglob("*.py"):
        for name in imported(path):
            assert name.split(".")[0] not in FORBIDDEN[package], f"{path}: imports {name}"


def test_only_the_bot_edge_imports_telegram():
    importers = sorted(
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if any(name.split(".")[0] == "telegram" for name in imported(path))
    )
    assert importers == TELEGRAM_EDGE  # no more modules, and no fewer: the edge is still there


def test_only_the_composition_root_reads_the_environment():
    for package in ("index", "retrieval"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            assert "os.environ.get" not in source and "getenv" not in source, path


def test_benchmarks_run_on_the_installed_package_without_path_patches():
    """`.venv/bin/python benchmarks/x.py` imports the library as installed, and a sibling module
    by its bare name (Python puts the script's folder first on the path)."""
    for path in (ROOT / "benchmarks").rglob("*.py"):
        assert "sys.path" not in path.read_text(encoding="utf-8"), path
