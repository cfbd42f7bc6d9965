"""The GPU, driver and software a plan's steps run with."""
import datetime
import json
import os
import platform
import subprocess

from .data import RefusedError
from .plans import ROOT

ENVIRONMENT_SCRIPT = """
import json, platform, torch
found = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
         "cudnn": torch.backends.cudnn.version(), "cuda_available": torch.cuda.is_available()}
try:
    import torchvision
    found["torchvision"] = torchvision.__version__
except ImportError:
    pass
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    found.update(gpu=p.name, capability=f"{p.major}.{p.minor}", gpu_memory_gib=round(p.total_memory / 2**30, 1),
                 multiprocessors=p.multi_processor_count)
print(json.dumps(found))
"""


def machine_environment(python):
    """The GPU, driver and software the steps will run with (asked in a separate process,
    so this one never opens a CUDA context)."""
    found = {"host": platform.node(), "cpus": os.cpu_count(),
             "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=60)
        fields = [f.strip() for f in out.stdout.splitlines()[0].split(",")] if out.returncode == 0 else []
        if len(fields) == 3:
            found.update(nvidia_smi_gpu=fields[0], driver=fields[1], nvidia_smi_memory=fields[2])
        else:
            found["nvidia_smi"] = (out.stderr or out.stdout).strip()[:300]
    except (OSError, subprocess.TimeoutExpired, IndexError) as error:
        found["nvidia_smi"] = f"not available ({error})"
    out = subprocess.run([python, "-c", ENVIRONMENT_SCRIPT], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RefusedError(f"{python} could not import torch: {out.stderr.strip()[-500:]}")
    found.update(json.loads(out.stdout.strip().splitlines()[-1]))
    try:
        found["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                         text=True, timeout=10).stdout.strip() or None
    except OSError:
        found["commit"] = None
    return found
