"""The course's pieces agree: Colab badges and install cells, README, CI."""
import json
import pathlib
import re

import cnnlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RELEASE = f"v{cnnlib.__version__}"  # the badges open the notebooks of the release their install cell pins


def repository_url():
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^Repository\s*=\s*"https://github\.com/([^"]+)"', text, re.M)
    assert match, "pyproject.toml needs [project.urls] Repository = \"https://github.com/OWNER/NAME\""
    return match.group(1)


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


def test_every_badge_and_install_cell_uses_the_repository_address():
    repo = repository_url()
    for path in NOTEBOOKS:
        all_cells = cells(path)
        first = source(all_cells[0])
        badge = f"https://colab.research.google.com/github/{repo}/blob/{RELEASE}/notebooks/{path.name}"
        assert badge in first, f"{path.name}: the first cell's Colab badge must link {badge}"
        installs = [source(c) for c in all_cells if "pip install" in source(c)]
        assert installs, f"{path.name}: no install cell"
        for text in installs:
            for url in re.findall(r"git\+https://github\.com/([\w.-]+/[\w.-]+)", text):
                assert url == repo, f"{path.name}: installs from {url}, pyproject says {repo}"


def test_readme_lists_every_notebook_with_its_badge():
    readme = (ROOT / "README.md").read_text()
    repo = repository_url()
    for path in NOTEBOOKS:
        assert f"https://colab.research.google.com/github/{repo}/blob/{RELEASE}/notebooks/{path.name}" in readme, path.name


def test_every_notebook_has_a_parameters_cell_and_records_its_run():
    for path in NOTEBOOKS:
        all_cells = cells(path)
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in all_cells), path.name
        outputs = "".join("".join(o.get("text", "")) for c in all_cells for o in c.get("outputs", []))
        assert re.search(r"produced in (quick|full) mode on ", outputs), f"{path.name}: no record of mode and device"


def test_stored_outputs_are_one_clean_run_without_errors():
    for path in NOTEBOOKS:
        counts = [c.get("execution_count") for c in cells(path) if c["cell_type"] == "code"]
        assert counts == list(range(1, len(counts) + 1)), f"{path.name}: not one clean top-to-bottom run"
        for c in cells(path):
            assert all(o["output_type"] != "error" for o in c.get("outputs", [])), path.name


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = 'pip install -e ".[test]" && pytest'
    assert test_command in readme and test_command in ci


def test_readme_results_tables_are_generated_from_the_shipped_records():
    import subprocess
    import sys

    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_tables.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_full_mode_table_from_a_cpu_alone_says_no_gpu_reference_exists_yet(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    readme_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_tables)
    record = {"name": "resnet20 [epochs=30]", "notebook": "command line", "parameters": 269_722,
              "multiply_adds": 40_812_032, "test_acc": 0.9, "epochs": 30, "train_seconds": 5000.0,
              "images_per_second": 300.0, "recorded": "2026-11-28", "data": "ImageFolder",
              "environment": {"device": "CPU (2 cores)", "torch": "2.14.1"}}
    found = {"full-cpu": {record["name"]: record}}
    monkeypatch.setattr(readme_tables.results, "references", lambda mode=None: found)
    assert readme_tables.block("full").startswith("No full-mode reference from a GPU recorded yet")
    assert "| resnet20 [epochs=30] | command line | 269,722 |" in readme_tables.block("full")
    found["full-nvidia-h200"] = found["full-cpu"]
    assert not readme_tables.block("full").startswith("No full-mode")


def test_the_readme_has_no_number_left_to_measure():
    assert "MEASURE-" not in (ROOT / "README.md").read_text()


def test_the_claims_table_puts_the_quick_verdict_beside_the_cpu_references(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    readme_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_tables)
    row = dict(claim="S-1", kind="experiment", aspect="", measured="plain-56 minus plain-20: +16.7 points",
               verdict="holds", verdict_korean="성립", detail="")
    shown = dict(row, claim="S-4", kind="demonstration", measured="BN after every convolution")
    undecided = dict(row, claim="S-3", measured="+1.0 points", verdict="inconclusive at this budget",
                     detail="the difference is within the noise")
    decided = dict(undecided, measured="+2.1 points, noise ±1.0", verdict="holds", detail="")
    recorded = {"quick-cpu": {"05_resnet": {"recorded": "2026-12-03", "rows": [row, shown, undecided]}},
                "cpu-reference": {"05_resnet": {"recorded": "2026-12-04", "rows": [decided]}}}
    monkeypatch.setattr(readme_tables.results, "claim_references", lambda label: recorded.get(label, {}))
    text = readme_tables.block("claims")
    assert "S-4" not in text  # demonstrations stay in the notebooks
    assert "| S-1 | 05_resnet | plain-56 minus plain-20: +16.7 points | holds | not recorded |" in text
    assert ("| S-3 | 05_resnet | +1.0 points | inconclusive at this budget: the difference is within the noise "
            "| holds (+2.1 points, noise ±1.0) |") in text
    assert text.startswith("Recorded 2026-12-03 to 2026-12-04")
