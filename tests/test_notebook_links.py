"""Every notebook installs the cnnlib release it was written for, and its badges open that release."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import notebook_links  # noqa: E402


def test_install_cells_and_badges_name_the_release_of_cnnlib_version():
    assert notebook_links.differences() == []


class Without:
    """A meta path finder that hides a package, as a fresh Colab or Kaggle kernel lacks cnnlib."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ImportError(f"No module named {fullname!r}")
        return None


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    calls = []
    shell.register_magic_function(lambda line: calls.append(line), magic_kind="line", magic_name="pip")
    yield shell, calls
    InteractiveShell.clear_instance()


def test_the_install_cell_installs_nothing_where_cnnlib_is_there(shell):
    ipython, calls = shell
    result = ipython.run_cell(notebook_links.install_cell("v0.0.0"))
    assert result.success and calls == []


def test_where_cnnlib_is_missing_it_installs_the_pinned_release_and_names_kaggles_internet_switch(shell, monkeypatch):
    ipython, calls = shell
    for name in [n for n in sys.modules if n == "cnnlib" or n.startswith("cnnlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Without("cnnlib"), *sys.meta_path])
    result = ipython.run_cell(notebook_links.install_cell("v9.9.9"))  # the fake pip installs nothing
    assert calls == [f'install -q "cnnlib @ git+https://github.com/{notebook_links.repository()}@v9.9.9"']
    assert isinstance(result.error_in_exec, ImportError) and "switch Internet on" in str(result.error_in_exec)
