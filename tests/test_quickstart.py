"""The quick start (issue 10): `make demo` installs only the runtime dependencies and prints what the
README says; `make test` installs the dev extras; the linter is pinned; no dependency goes unused."""

import os
import pathlib
import re
import subprocess
import sys

import pytest
from cases import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def requirements(key):
    """The quoted requirements of `key = [...]` in pyproject.toml (tomllib needs Python 3.11)."""
    body = re.search(rf"^{re.escape(key)} = \[(.*?)\]$", PYPROJECT, re.MULTILINE | re.DOTALL).group(1)
    return re.findall(r'"([^"]+)"', body)


def make_dry_run(target):
    """The commands `make TARGET` would run in a fresh clone (no .venv yet), without running them."""
    done = subprocess.run(["make", "-n", "-B", target, "VENV=/nonexistent/venv"], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_demo_installs_only_the_runtime_dependencies():
    demo = make_dry_run("demo")
    assert "pip install -q -e .\n" in demo and "[dev]" not in demo
    assert "pip install -q -e '.[dev]'" in make_dry_run("test")


def test_the_linter_is_pinned():
    ruff = [r for r in requirements("dev") if r.startswith("ruff")]
    assert len(ruff) == 1 and re.fullmatch(r"ruff==[\d.]+", ruff[0])


def test_every_runtime_dependency_is_imported():
    sources = "\n".join(p.read_text(encoding="utf-8") for pkg in ("irgraph", "passes", "viz")
                        for p in (ROOT / pkg).rglob("*.py"))
    for requirement in requirements("dependencies"):
        module = re.split(r"[<>=\[ ]", requirement)[0]
        assert re.search(rf"^\s*(import|from) {module}\b", sources, re.MULTILINE), f"{module} is never imported"


def test_make_demo_prints_what_the_readme_says(tmp_path):
    expected = README.split("`make demo` prints:\n\n```\n")[1].split("```")[0]
    env = dict(os.environ, IRGRAPH=str(pathlib.Path(sys.executable).with_name("irgraph")))
    done = subprocess.run(["bash", "scripts/demo.sh"], cwd=ROOT, capture_output=True, text=True, env=env,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
    assert (ROOT / "build" / "linear.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


@pytest.mark.parametrize("target", ["demo", "test", "lint"])
def test_make_targets_exist(target):
    make_dry_run(target)


def test_make_figures_regenerates_every_committed_picture():
    """Every picture under docs/ is written by `make figures`, and every picture the README shows is one."""
    recipe = make_dry_run("figures")
    made = set(re.findall(r"docs/[\w.-]+\.(?:svg|png|pdf)", recipe))
    committed = {f"docs/{p.name}" for p in (ROOT / "docs").iterdir() if p.suffix in (".svg", ".png", ".pdf")}
    assert committed and committed <= made, committed - made
    shown = set(re.findall(r"\]\((docs/[^)]+)\)", README))
    assert shown and shown <= made, shown - made
