"""The install asks for what cnnlib imports, and leaves Colab's preinstalled packages alone."""
import ast
import pathlib
import sys

import pytest

tomllib = pytest.importorskip("tomllib")
from packaging.requirements import Requirement  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {Requirement(r).name.lower(): Requirement(r) for r in PROJECT["dependencies"]}

# Colab's GPU runtime as googlecolab/backend-info's pip freeze lists it (the
# freeze read on 2026-11-28 dates from June 2026 or later): the install cell
# must neither upgrade nor downgrade any of these.
COLAB = {
    "torch": "2.11.0", "torchvision": "0.26.0", "ipywidgets": "7.7.1", "matplotlib": "3.10.0",
    "tqdm": "4.67.3", "pillow": "11.3.0", "numpy": "2.0.2", "ipykernel": "6.17.1", "ipython": "7.34.0",
    "tornado": "6.5.1", "jupyter-server": "2.14.0", "notebook": "6.5.7", "jupyter-client": "7.4.9",
}
# Import names of the packages cnnlib may import, and their distribution names.
DISTRIBUTION = {"torch": "torch", "torchvision": "torchvision", "matplotlib": "matplotlib",
                "ipywidgets": "ipywidgets", "tqdm": "tqdm", "PIL": "pillow"}
# Not declared, because something declared brings them: IPython is imported only
# inside notebooks (Jupyter ships it); numpy is a requirement of matplotlib and torchvision.
BROUGHT_BY_OTHERS = {"IPython", "numpy"}


def imported_top_level_modules():
    names = set()
    for path in (ROOT / "cnnlib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "cnnlib"}


def test_runtime_requirements_are_exactly_what_cnnlib_imports():
    imported = imported_top_level_modules() - BROUGHT_BY_OTHERS
    unknown = imported - set(DISTRIBUTION)
    assert not unknown, f"cnnlib imports {unknown}: declare them in pyproject.toml and here"
    assert {DISTRIBUTION[m] for m in imported} == set(RUNTIME)


@pytest.mark.parametrize("name", sorted(COLAB))
def test_colabs_preinstalled_versions_satisfy_the_requirements(name):
    requirement = RUNTIME.get(name)
    if requirement is not None:
        assert requirement.specifier.contains(COLAB[name], prereleases=True), (
            f"{requirement} would make pip replace Colab's {name} {COLAB[name]}")


def test_the_jupyter_stack_is_not_a_runtime_requirement():
    for name in ("jupyterlab", "notebook", "jupyter-server", "ipykernel", "ipython", "tornado", "nbval", "pytest"):
        assert name not in RUNTIME, f"{name} in the runtime requirements would make Colab's install change its Jupyter"
    assert "jupyterlab" in " ".join(PROJECT["optional-dependencies"]["lab"])


def test_the_license_uses_the_spdx_form():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
