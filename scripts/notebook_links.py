"""The links that tie a notebook to its release: the install cell and the Colab and Kaggle badges.

    python scripts/notebook_links.py            # write them into every notebook and README.md
    python scripts/notebook_links.py --check    # exit 1 where one differs from cnnlib.__version__

Every notebook's first code cell installs cnnlib pinned to the tag v<version>
(cnnlib.__version__) when the kernel does not have it (Colab, Kaggle, any
fresh kernel), and its badges open the notebook of that same tag, so a
notebook and its library never drift apart. Releasing is: bump
cnnlib.__version__, run this script, commit, tag the commit v<version>.
"""
import argparse
import pathlib
import re
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NOTEBOOKS = ROOT / "notebooks"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"
BADGES = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)(?: \[!\[Open In Kaggle\]\([^)]*\)\]\([^)]*\))?")


def version():
    from cnnlib import __version__

    return __version__


def repository():
    """The repository's GitHub path, 'owner/name', from pyproject.toml's Repository URL."""
    found = re.search(r'^Repository = "https://github\.com/([^"]+?)/?"', (ROOT / "pyproject.toml").read_text(), re.M)
    if not found:
        raise SystemExit("pyproject.toml names no https://github.com/... Repository URL")
    return found.group(1)


def install_cell(tag):
    return f'''# The course's library: on Colab, Kaggle or any kernel without it, install it (about a minute),
# pinned to the release these notebooks were written for.
try:
    import cnnlib
except ImportError:
    %pip install -q "cnnlib @ git+https://github.com/{repository()}@{tag}"
    import importlib

    importlib.invalidate_caches()
    try:
        import cnnlib
    except ImportError:
        raise ImportError("pip could not install cnnlib. On Kaggle, switch Internet on in the notebook's "
                          "settings (Settings, Internet), then run this cell again.") from None'''


def badges(stem, tag):
    """The Colab and Kaggle badges of notebooks/<stem>.ipynb at `tag`, in one line."""
    notebook = f"{repository()}/blob/{tag}/notebooks/{stem}.ipynb"
    colab = f"https://colab.research.google.com/github/{notebook}"
    kaggle = f"https://kaggle.com/kernels/welcome?src=https://github.com/{notebook}"
    return f"[![Open In Colab]({COLAB_BADGE})]({colab}) [![Open In Kaggle]({KAGGLE_BADGE})]({kaggle})"


def notebooks():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def differences(tag=None):
    """Where the links differ from the release `tag` (default v<cnnlib.__version__>): a list of lines."""
    tag = tag or f"v{version()}"
    found = []
    readme = (ROOT / "README.md").read_text()
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        code = next(c for c in nb.cells if c.cell_type == "code")
        if code.source != install_cell(tag):
            found.append(f"{path.name}: its first code cell is not the install cell of {tag}")
        if badges(path.stem, tag) not in nb.cells[0].source:
            found.append(f"{path.name}: its first cell lacks the Colab and Kaggle badges of {tag}")
        if badges(path.stem, tag) not in readme:
            found.append(f"README.md: the row of {path.name} lacks the Colab and Kaggle badges of {tag}")
    return found


def write(tag=None):
    tag = tag or f"v{version()}"
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        code = next(c for c in nb.cells if c.cell_type == "code")
        code.source = install_cell(tag)
        first = nb.cells[0]
        first.source, count = BADGES.subn(badges(path.stem, tag), first.source, count=1)
        if not count:
            raise SystemExit(f"{path.name}: no Colab badge in its first cell to put the badges in")
        path.write_text(nbformat.writes(nb) + "\n")
        row = re.compile(BADGES.pattern + rf"(?= \| \[\d\d [^\]]+\]\(notebooks/{path.stem}\.ipynb\))")
        readme, count = row.subn(badges(path.stem, tag), readme)
        if not count:
            raise SystemExit(f"README.md: no row with a badge for {path.name}")
    readme_path.write_text(readme)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check")
    args = parser.parse_args(argv)
    if args.check:
        found = differences()
        for line in found:
            print(line)
        return 1 if found else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
