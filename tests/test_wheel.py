"""The built wheel holds the whole project: every app (with its sub-packages and migrations),
the templates, the static files and the data files the apps read at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "routing", "playground", "costcalc", "batch", "usage")
DATA = (".html", ".css", ".js", ".json", ".jsonl")


def _source_files() -> set[str]:
    """What the wheel must carry: the apps' Python modules and every data file beside them,
    and everything under templates/ and static/."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    wanted = set()
    for name in tracked:
        top = name.split("/")[0]
        if (
            top in APPS
            and (name.endswith(".py") or name.endswith(DATA))
            or top in ("templates", "static")
        ):
            wanted.add(name)
    return wanted


SKIP = shutil.ignore_patterns(
    ".venv", ".git", ".*_cache", ".hypothesis", "build", "var", "*.egg-info", "__pycache__"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The wheel built from a copy of the tree (setuptools leaves build/ where it builds)."""
    tree, out = tmp_path_factory.mktemp("tree") / "src", tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tree, ignore=SKIP)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("switchyard-*.whl")
    return set(zipfile.ZipFile(built).namelist())


def test_the_wheel_holds_every_source_and_data_file(wheel: set[str]) -> None:
    """Nothing the apps import or read is left out of the wheel."""
    missing = sorted(_source_files() - wheel)
    assert missing == [], f"not in the wheel: {missing[:20]}"


def test_the_wheel_holds_each_app_and_rooms_of_routing(wheel: set[str]) -> None:
    """Each app, routing's rooms and the usage app's migrations are there by name."""
    rooms = ("doors", "engine", "guards", "catalog", "transport", "tools", "providers")
    expected = [f"{app}/__init__.py" for app in APPS if app != "config"] + [
        "config/settings.py",
        *(f"routing/{room}/__init__.py" for room in rooms),
        "routing/complexity/learned_v3.json",
        "usage/models.py",
        "usage/migrations/0001_initial.py",
        "templates/base.html",
        "static/vendor/htmx/htmx.min.js",
        "playground/templates/playground/index.html",
    ]
    assert [name for name in expected if name not in wheel] == []
