"""What comes back from a plan: the records gathered, the summary, and publishing them."""
import json
import pathlib
import tempfile

from .plans import TARGETS


def gather(folder):
    """{"<mode>-<device>": {name: record}} from the one-file-per-run records under `folder`."""
    found = {}
    for path in sorted(pathlib.Path(folder).glob("*/*.json")):
        record = json.loads(path.read_text())
        found.setdefault(path.parent.name, {})[record["name"]] = record
    return found


def records_of(grouped):
    """{name: record} over every mode and device of a gathered dict."""
    return {name: r for records in grouped.values() for name, r in records.items()}


def write_json(path, value):
    from cnnlib import results

    results.write_json(path, value)


def with_driver(grouped, driver):
    """The gathered records with the GPU driver added to each record's environment."""
    if driver:
        for records in grouped.values():
            for record in records.values():
                record.setdefault("environment", {}).setdefault("driver", driver)
    return grouped


# ---------------------------------------------------------------- the summary

def _percent(value):
    return "-" if value is None else f"{value:.1%}"


def summary(plan, outcomes, trained, smoked, pipeline=None, environment=None, scale=1.0):
    """The summary table and the lines after it, as text."""
    from cnnlib.table import Table

    rows = []
    for outcome in outcomes:
        step = outcome.step
        names = step.recipes or (step.name,)
        for name in names:
            record = None
            if step.kind == "train":
                record = trained.get(name)
            elif step.kind.startswith("smoke"):
                record = next((r for r in smoked.values() if r.get("recipe_name") == name and
                               (r.get("recipe", {}).get("precision") == "fp16") == (step.kind == "smoke-fp16")), None)
            status = outcome.status
            if record is not None:
                status = ("finished" if record.get("finished") else "interrupted") + (
                    ", diverged" if record.get("diverged") else "")
            elif step.kind.startswith("smoke") and outcome.status != "skipped":
                status = f"not recorded ({outcome.status})"
            label = name + (" [fp16]" if step.kind == "smoke-fp16" else " [1 epoch]" if step.kind == "smoke" else "")
            target = TARGETS.get(name) if step.kind == "train" else None
            rows.append([
                label, status,
                record["epochs"] if record else None,
                _percent(record["test_acc"]) if record else "-",
                _percent(target) if target else "-",
                _percent(record["train_acc"]) if record else "-",
                record["train_seconds"] if record else None,
                round(outcome.seconds, 1) if len(names) == 1 and outcome.seconds else None,
                round(outcome.expected) if len(names) == 1 and outcome.expected is not None else None,
                f"{record['images_per_second']:,.0f}" if record else "-",
                record.get("recipe", {}).get("precision") if record else None,
            ])
    env = environment or {}
    title = (f"plan {plan} on {env.get('gpu') or env.get('nvidia_smi_gpu') or 'an unknown device'} "
             f"(driver {env.get('driver', '?')}, torch {env.get('torch', '?')}, CUDA {env.get('cuda', '?')}, "
             f"cuDNN {env.get('cudnn', '?')}), {env.get('date', '')}")
    table = Table(["step", "status", "epochs", "test acc", "target", "train acc", "train s", "wall s",
                   "estimate s", "images/s", "precision"], rows, title=title)
    lines = [str(table), f"estimates rescaled by x{scale:.2f} from the trained steps' measured times"]
    for name, target in TARGETS.items():
        record = trained.get(name)
        if record is not None and record["test_acc"] < target:
            lines.append(f"{name}: {record['test_acc']:.1%} misses its target {target:.1%} by "
                         f"{(target - record['test_acc']) * 100:.1f} points")
    if "plain20" in trained and "plain56" in trained:
        e20, e56 = (1 - trained[n]["train_acc"] for n in ("plain20", "plain56"))
        shown = "shown" if e56 > e20 else "NOT shown"
        lines.append(f"degradation {shown}: final training error plain-56 {e56:.1%}, plain-20 {e20:.1%}")
    for row in (pipeline or {}).get("rows", []):
        lines.append(f"pipeline, {row['what']}: DataLoader {row['dataloader']:,.0f} images/s, "
                     f"cnnlib {row['cnnlib']:,.0f} images/s, {row['ratio']:.1f}x")
    return "\n".join(lines)


def publish(path, include_interrupted=False):
    """Merge a returned plan<P>-records.json into cnnlib/references/<mode>-<device>.json
    (cnnlib.results.publish); interrupted or diverged runs are left out unless asked for.
    Returns the reference files written."""
    from cnnlib import results

    grouped = json.loads(pathlib.Path(path).read_text())
    written = []
    for key, records in grouped.items():
        mode, device = key.split("-", 1)
        kept = {n: r for n, r in records.items() if include_interrupted or r.get("finished")}
        for name in sorted(set(records) - set(kept)):
            print(f"left out {name!r}: {records[name]['epochs']} epochs, not finished")
        if not kept:
            continue
        with tempfile.TemporaryDirectory() as folder:
            for i, record in enumerate(kept.values()):
                results.write_json(pathlib.Path(folder) / f"{i:04d}.json", record)
            written.extend(results.publish(mode, device, folder))
            print(f"published {len(kept)} records to {written[-1]}")
    return written
