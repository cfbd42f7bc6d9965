"""The README's figures in assets/ are made by scripts/make_assets.py from the current code and
references: none is older than what it was drawn from (nothing is drawn here)."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import make_assets  # noqa: E402


def test_every_figure_is_current():
    stale = make_assets.stale()
    assert not stale, "; ".join(f"{name}: {why} (python scripts/make_assets.py {name})" for name, why in stale.items())


def test_the_readme_shows_every_figure():
    readme = (ROOT / "README.md").read_text()
    for path, _, _ in make_assets.FIGURES.values():
        assert f"]({path.relative_to(ROOT)})" in readme, f"README.md does not show {path.relative_to(ROOT)}"


def test_a_changed_input_makes_a_figure_stale(tmp_path, monkeypatch):
    figure = tmp_path / "course-map.png"
    make_assets.save_png(make_assets.draw_course_map(make_assets.course()), figure, "an older digest")
    monkeypatch.setitem(make_assets.FIGURES, "course-map", (figure, make_assets.course_map_digest, None))
    assert "course-map" in make_assets.stale()
