"""Write the README's results tables from the shipped reference records, never by hand.

    python scripts/readme_tables.py           # rewrite the tables in README.md
    python scripts/readme_tables.py --check   # exit 1 if README.md differs from the records

The tables sit between `<!-- results:MODE -->` and `<!-- /results:MODE -->`
(MODE is quick or full) and are made from cnnlib/references/MODE-*.json
(cnnlib.results.references), one table per device; the claims table sits
between `<!-- results:claims -->` and its end, made from the recorded claim
checks (cnnlib/references/claims/quick-cpu.json, the stored notebooks' run,
and claims/cpu-reference.json, scripts/cpu_references.py's runs).
"""
import argparse
import pathlib
import re
import sys

from cnnlib import results
from cnnlib.table import Table

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- results:(\w+) -->\n)(.*?)(<!-- /results:\2 -->)", re.S)
NONE_YET = {
    "quick": "No quick-mode reference recorded yet.\n",
    "full": "No full-mode reference recorded yet: it needs a GPU run of `benchmarks/device_run.sh` "
            "(see benchmarks/README.md).\n",
}
NO_GPU_YET = ("No full-mode reference from a GPU recorded yet: it needs a run of `benchmarks/device_run.sh` "
              "(see benchmarks/README.md). What is recorded so far ran on a CPU:\n")


def table(records):
    """One markdown table of a reference file's records, in the order of the course's notebooks."""
    ordered = sorted(records.values(), key=lambda r: (r.get("notebook") or "", r["name"]))
    return Table(["run", "notebook", "parameters", "multiply-adds (32x32)", "training images", "test accuracy (%)",
                  "epochs", "training time (s)", "images/s"],
                 [[r["name"], r.get("notebook"), r["parameters"], r["multiply_adds"], r.get("train_images"),
                   100 * r["test_acc"], r["epochs"], r["train_seconds"], r["images_per_second"]] for r in ordered],
                 formats={"test accuracy (%)": ".1f", "training time (s)": ".1f", "images/s": ",.0f"}).markdown()


def claims_block():
    """Every experiment row of the notebooks' claim checks: measured in the stored quick run, its
    verdict there, and the verdict of the CPU reference, where one is recorded."""
    quick, reference = results.claim_references("quick-cpu"), results.claim_references("cpu-reference")
    if not quick and not reference:
        return "No claim check recorded yet: run `python scripts/store_notebooks.py --publish`.\n"
    rows = []
    for notebook in sorted(set(quick) | set(reference)):
        mine = {(r["claim"], r.get("aspect", "")): r for r in quick.get(notebook, {}).get("rows", [])}
        theirs = {(r["claim"], r.get("aspect", "")): r for r in reference.get(notebook, {}).get("rows", [])}
        for key in [k for k in mine if mine[k]["kind"] == "experiment"] + \
                   [k for k in theirs if k not in mine and theirs[k]["kind"] == "experiment"]:
            row, ref = mine.get(key), theirs.get(key)
            rows.append([key[0] + (f" ({key[1]})" if key[1] else ""), notebook,
                         row["measured"] if row else (ref["measured"] if ref else None),
                         _verdict(row), _verdict(ref, with_measured=True)])
    table = Table(["claim", "notebook", "what was measured (quick mode)", "verdict, quick mode",
                   "verdict, CPU reference"], rows).markdown()
    dates = sorted({e["recorded"] for e in [*quick.values(), *reference.values()]})
    return (f"Recorded {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "") + "; every row is an "
            "experiment (the demonstrations are in the notebooks' claim checks).\n\n" + table)


def _verdict(row, with_measured=False):
    if row is None:
        return "not recorded"
    text = row["verdict"] + (f": {row['detail']}" if row.get("detail") else "")
    return text + (f" ({row['measured']})" if with_measured else "")


def block(mode):
    """The markdown for one mode: a table per reference file, each with its device, dates and data."""
    if mode == "claims":
        return claims_block()
    found = results.references(mode)
    if not found:
        return NONE_YET[mode]
    parts = []
    if mode == "full" and all(stem.endswith("-cpu") for stem in found):
        parts.append(NO_GPU_YET)
    for stem, records in found.items():
        others = {}
        if mode == "quick":  # the notebooks' own runs; other seeds and sweep points are counted, not listed
            others = {n: r for n, r in records.items() if "seed=" in n}
            records = {n: r for n, r in records.items() if n not in others}
        any_record = next(iter(records.values()))
        environment = any_record.get("environment", {})
        dates = sorted({r["recorded"] for r in records.values()})
        when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
        parts.append(f"`cnnlib/references/{stem}.json`: {environment.get('device', '?')}, torch "
                     f"{environment.get('torch', '?')}, recorded {when}, data: {_data(any_record)}.\n\n"
                     + table(records)
                     + (f"\nBesides these, {len(others)} runs of other seeds and of learning-rate sweeps ship for "
                        "the notebooks' noise rule and rate choices (`scripts/recorded_runs.py`).\n" if others else ""))
    return "\n".join(parts)


def _data(record):
    """The data set of a reference file, without the split a notebook cut from it (the table's column)."""
    return (record.get("data") or "?").split(";")[0]


def render(text):
    return BLOCK.sub(lambda m: m.group(1) + block(m.group(2)) + m.group(4), text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that README.md matches the records")
    args = parser.parse_args(argv)
    text = README.read_text()
    if not BLOCK.search(text):
        sys.exit("README.md has no <!-- results:MODE --> blocks")
    new = render(text)
    if args.check:
        if new != text:
            print("README.md's results tables differ from cnnlib/references: run python scripts/readme_tables.py")
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
