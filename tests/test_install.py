"""The install asks for what cnnlib imports, and leaves Colab's and Kaggle's preinstalled packages alone.

That the course then runs on those versions is checked by scripts/check_platform.py (a fresh
environment with the platform's Python and packages, the install from a clone, notebooks run),
which is rerun by hand: CI has one environment."""
import ast
import pathlib
import sys

import pytest

tomllib = pytest.importorskip("tomllib")
from packaging.requirements import Requirement  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {Requirement(r).name.lower(): Requirement(r) for r in PROJECT["dependencies"]}

# The platforms' preinstalled packages, each with its source and date, from the one table of them in
# scripts/check_platform.py: the install cell must neither upgrade nor downgrade any of them.
sys.path.insert(0, str(ROOT / "scripts"))
import check_platform  # noqa: E402

PLATFORMS = {name: {package.replace("_", "-"): version for package, version in platform["packages"].items()}
             for name, platform in check_platform.PLATFORMS.items()}
PYTHON = {name: tuple(int(part) for part in platform["python"].split(".")) for name, platform in
          check_platform.PLATFORMS.items()}
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


@pytest.mark.parametrize("platform, name", [(p, n) for p, versions in PLATFORMS.items() for n in sorted(versions)])
def test_the_platforms_preinstalled_versions_satisfy_the_requirements(platform, name):
    requirement = RUNTIME.get(name)
    if requirement is not None:
        version = PLATFORMS[platform][name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{requirement} would make pip replace {platform}'s {name} {version}")


def test_every_runtime_requirement_is_in_both_platforms_tables():
    for platform, versions in PLATFORMS.items():
        assert set(RUNTIME) <= set(versions), f"{platform}: no version for {set(RUNTIME) - set(versions)}"


@pytest.mark.parametrize("platform", sorted(PYTHON))
def test_the_platforms_python_is_one_the_project_accepts(platform):
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(PROJECT["requires-python"]).contains(".".join(map(str, PYTHON[platform])))


def test_the_jupyter_stack_is_not_a_runtime_requirement():
    for name in ("jupyterlab", "notebook", "jupyter-server", "ipykernel", "ipython", "tornado", "nbval", "pytest"):
        assert name not in RUNTIME, f"{name} in the runtime requirements would make Colab's install change its Jupyter"
    assert "jupyterlab" in " ".join(PROJECT["optional-dependencies"]["lab"])


def test_the_license_uses_the_spdx_form():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


def test_a_built_wheel_carries_the_data_files_in_regular_packages(tmp_path):
    # What pip installs on Colab from GitHub: the references and the embedded subset must be inside,
    # in packages with an __init__.py (not namespace packages, which some tools skip).
    import shutil
    import subprocess
    import zipfile

    source = tmp_path / "source"  # a copy, so that the build's folders land outside the checkout
    shutil.copytree(ROOT / "cnnlib", source / "cnnlib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel, = tmp_path.glob("cnnlib-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("cnnlib/references", "cnnlib/data/embedded"):
        assert f"{package}/__init__.py" in names
    assert "cnnlib/data/embedded/cifar10-subset.zip" in names
    references = ROOT / "cnnlib" / "references"  # the runs, and the claim checks in claims/
    assert {n for n in names if n.startswith("cnnlib/references/") and n.endswith(".json")} == {
        f"cnnlib/references/{p.relative_to(references).as_posix()}" for p in references.rglob("*.json")}
