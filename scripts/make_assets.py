"""Make the figures the README shows, in assets/, from the code and the shipped references.

    python scripts/make_assets.py               # every figure whose inputs changed
    python scripts/make_assets.py explorer      # one figure (course-map, results, explorer)
    python scripts/make_assets.py --check       # exit 1 if a figure is older than its inputs

Each PNG carries, in a text chunk, a digest of what it was drawn from (the
README's notebook table and the notebooks' claim checks; the shipped
reference records; the explorer's code and cell) and of the code that draws
it, so that --check (and tests/test_assets.py) can tell a stale figure
without drawing anything. The explorer's picture is taken as the browser test
sees it: notebook 03's explorer cell run alone in JupyterLab, in a headless
Chromium (scripts/lab_browser.py); the other two are drawn with matplotlib.
"""
import argparse
import hashlib
import inspect
import io
import pathlib
import re
import shutil
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
ASSETS = ROOT / "assets"
DIGEST_KEY = "cnnlib-inputs"
NOTEBOOK_ROW = re.compile(r"\[(\d\d) ([^\]]+)\]\(notebooks/(\d\d_\w+)\.ipynb\) \| ([^|]+?) \| ([^|]+?) \|")


def _digest(*parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def stored_digest(path):
    """The digest a figure was made from, or None (no file, or none stored)."""
    from PIL import Image

    if not path.exists():
        return None
    with Image.open(path) as image:
        return image.text.get(DIGEST_KEY) if hasattr(image, "text") else None


def save_png(png, path, digest):
    """PNG bytes written to `path` with `digest` in a text chunk."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(DIGEST_KEY, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(png)) as image:
        image.save(path, pnginfo=info, optimize=True)


# ---------------------------------------------------------------- the course map

def course():
    """The notebooks as the README lists them, with the claims each one's claim check judges (from
    the claim checks of the stored notebooks, as shipped in cnnlib/references/claims/quick-cpu.json)."""
    from cnnlib import results

    checks = results.claim_references("quick-cpu")
    rows = []
    for number, title, stem, question, trains in NOTEBOOK_ROW.findall((ROOT / "README.md").read_text()):
        claim_ids = sorted({row["claim"] for row in checks.get(stem, {}).get("rows", [])},
                           key=lambda c: (c[0], int(c[2:])))
        rows.append(dict(number=number, title=title, question=question.strip(), trains=trains.strip(),
                         claims=claim_ids))
    if len(rows) != 8:
        raise SystemExit(f"README.md's notebook table gave {len(rows)} notebooks, expected 8")
    return rows


def draw_course_map(rows):
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    fig, ax = plt.subplots(figsize=(13, 6.2))
    ax.set(xlim=(0, 4), ylim=(0, 2), xticks=[], yticks=[])
    ax.axis("off")
    width, height = 0.9, 0.84
    centres = [(0.5 + i % 4, 1.5 - i // 4) for i in range(len(rows))]
    for i, (row, (x, y)) in enumerate(zip(rows, centres)):
        colour = "#dbe9f6" if row["number"] in ("00", "07") else "#fbe5c8"
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.012",
                                    facecolor=colour, edgecolor="#555555", linewidth=1))
        ax.text(x, y + 0.37, textwrap.fill(f"{row['number']}  {row['title']}", 24), ha="center", va="top",
                fontsize=10.5, fontweight="bold", linespacing=1.0)
        ax.text(x, y + 0.21, textwrap.fill(row["question"], 34), ha="center", va="top", fontsize=8.6,
                style="italic")
        ax.text(x, y - 0.12, textwrap.fill(f"trains: {row['trains']}", 38), ha="center", va="top", fontsize=8,
                color="#333333")
        claims_line = "claims: " + (", ".join(row["claims"]) if row["claims"] else "none (the setup)")
        ax.text(x, y - 0.37, textwrap.fill(claims_line, 40), ha="center", va="bottom", fontsize=7.8,
                color="#7a3b00")
        if i + 1 < len(rows):
            (x2, y2) = centres[i + 1]
            if y2 == y:  # the next one to the right
                arrow = FancyArrowPatch((x + width / 2, y), (x2 - width / 2, y2), arrowstyle="-|>",
                                        mutation_scale=14, color="#555555")
            else:  # the end of a row: down into the gap, back to the left, down to the next row
                gap = (y - height / 2 + y2 + height / 2) / 2
                arrow = FancyArrowPatch(path=Path([(x, y - height / 2), (x, gap), (x2, gap), (x2, y2 + height / 2)],
                                                  [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO]),
                                        arrowstyle="-|>", mutation_scale=14, color="#555555")
            ax.add_patch(arrow)
    ax.set_title("CNN architectures, hands-on: the eight notebooks in order, each with the claims of the "
                 "lecture notes it measures", fontsize=12)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def course_map_digest():
    return _digest(course(), inspect.getsource(draw_course_map))


def make_course_map():
    save_png(draw_course_map(course()), ASSETS / "course-map.png", course_map_digest())


# ---------------------------------------------------------------- the results

def side_by_side():
    """The shipped side by side of notebook 07: every architecture at one budget, {name: record}."""
    from cnnlib import recipes

    found = {job.name: recipes.recorded(job, "quick") for job in recipes.side_by_side_jobs()}
    missing = [name for name, record in found.items() if record is None]
    if missing:
        raise SystemExit(f"no recorded side-by-side run of {', '.join(missing)}: run scripts/recorded_runs.py")
    return found


def draw_results(records):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnlib import recipes, viz

    budget = recipes.SIDE_BY_SIDE_BUDGET
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharey=True)
    for ax, key, unit in ((axes[0], "parameters", "parameters"),
                          (axes[1], "multiply_adds", "multiply-adds per 32x32 image")):
        for i, (name, r) in enumerate(records.items()):
            two_se = 200 * (r["test_acc"] * (1 - r["test_acc"]) / r["test_images"]) ** 0.5
            ax.errorbar(r[key], 100 * r["test_acc"], yerr=two_se, fmt="o", ms=7, capsize=3, color=f"C{i}")
        viz.label_points(ax, [(r[key], 100 * r["test_acc"], name) for name, r in records.items()])
        ax.set_xscale("log")
        ax.set(xlabel=f"{unit} (log scale)", title=f"Test accuracy against {unit}")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("test accuracy (%), 1,000 test images")
    any_record = next(iter(records.values()))
    fig.suptitle(f"Every architecture of the course at one budget: {budget['epochs']} epochs of 3,000 CIFAR-10 "
                 f"images, batch {budget['batch_size']}, quick widths ({any_record['environment']['device']}, "
                 f"{any_record['recorded']}; bars: two standard errors)", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def results_digest():
    from cnnlib import viz

    return _digest(side_by_side(), inspect.getsource(draw_results), inspect.getsource(viz.label_points))


def make_results():
    save_png(draw_results(side_by_side()), ASSETS / "results.png", results_digest())


# ---------------------------------------------------------------- the explorer

EXPLORER_NOTEBOOK = ROOT / "notebooks" / "03_vgg.ipynb"
EXPLORER_CALL = "ReceptiveFieldExplorer("


def explorer_digest():
    import nbformat

    nb = nbformat.read(EXPLORER_NOTEBOOK, as_version=4)
    cell = next(c.source for c in nb.cells if c.cell_type == "code" and EXPLORER_CALL in c.source)
    code = [p.read_bytes() for p in sorted((ROOT / "cnnlib" / "widgets").glob("*.py"))]
    return _digest(cell, *code, inspect.getsource(take_explorer_picture))


def take_explorer_picture():
    """The explorer as JupyterLab shows it, the way tests/test_browser.py sees it."""
    import lab_browser
    from playwright.sync_api import sync_playwright

    reason = lab_browser.missing()
    if reason:
        raise SystemExit(f"cannot take the explorer's picture: {reason}")
    with tempfile.TemporaryDirectory() as folder:
        root, home = pathlib.Path(folder) / "root", pathlib.Path(folder) / "home"
        root.mkdir()
        home.mkdir()
        shutil.copy(EXPLORER_NOTEBOOK, root / EXPLORER_NOTEBOOK.name)
        index = lab_browser.code_cell_index(EXPLORER_NOTEBOOK, EXPLORER_CALL)
        with lab_browser.jupyterlab(root, home) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=lab_browser.CHROMIUM,
                                                 args=lab_browser.CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport=lab_browser.VIEWPORT)
                page.set_default_timeout(lab_browser.STARTUP_SECONDS * 1000)
                lab_browser.Console(page, url)
                cell = lab_browser.run_cell_alone(page, url, EXPLORER_NOTEBOOK.name, index, EXPLORER_CALL)
                output = cell.locator(".jp-Cell-outputArea")
                explorer = output.locator(".jupyter-widgets.widget-vbox").first
                table = output.locator(".widget-html").filter(has=page.locator("table"))
                lab_browser.wait_until(lambda: table.count() > 0, lab_browser.STARTUP_SECONDS, "the explorer")
                path = pathlib.Path(folder) / "explorer.png"
                lab_browser.screenshot(page, explorer, path)
                return path.read_bytes()
            finally:
                browser.close()


def make_explorer():
    save_png(take_explorer_picture(), ASSETS / "explorer.png", explorer_digest())


# ---------------------------------------------------------------- every figure

FIGURES = {
    "course-map": (ASSETS / "course-map.png", course_map_digest, make_course_map),
    "results": (ASSETS / "results.png", results_digest, make_results),
    "explorer": (ASSETS / "explorer.png", explorer_digest, make_explorer),
}


def stale():
    """The figures whose stored digest is not their inputs' digest now: {name: why}."""
    found = {}
    for name, (path, digest, _) in FIGURES.items():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        stored = stored_digest(path)
        if stored is None:
            found[name] = f"{shown} is missing or carries no digest"
        elif stored != digest():
            found[name] = f"{shown} was drawn from other inputs"
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("figures", nargs="*", choices=[[], *FIGURES], metavar="FIGURE",
                        help=f"one of {', '.join(FIGURES)} (default: every stale one)")
    parser.add_argument("--check", action="store_true", help="draw nothing: exit 1 if a figure is stale")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for name, why in found.items():
            print(f"{name}: {why}: run python scripts/make_assets.py {name}")
        return 1 if found else 0
    for name in args.figures or list(stale()):
        FIGURES[name][2]()
        print(f"made {FIGURES[name][0].relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
