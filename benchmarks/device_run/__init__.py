"""Train one plan of full-mode recipes on a lent GPU inside a fixed time budget.

    CNNLIB_RESULTS=$OUT bash benchmarks/device_run.sh 1 --budget 390

`run PLAN` (what device_run.sh calls: python -m benchmarks.device_run run PLAN):

1. unpacks the carried CIFAR-10 JPEG tarball (.cifar10-jpeg/cifar10-jpeg.tar.gz)
   into a work folder, and refuses to go on unless it holds exactly 50,000
   training and 10,000 test images (never the embedded subset instead);
2. records the GPU, its driver, torch, CUDA and cuDNN;
3. trains each recipe of the plan in its own process (`python -m cnnlib
   RECIPE --mode full`) under a deadline guard: a recipe whose estimated time
   no longer fits is skipped, and one that reaches its own limit gets SIGINT,
   so that fit stops cleanly and its record says `interrupted` with the
   epochs done;
4. with the time left, a 1-epoch smoke of every recipe not trained, and a
   1-epoch smoke with fp16 and a GradScaler forced (Colab's T4 path);
5. after every step, gathers the runs' records (one JSON file per run, as
   cnnlib.results writes them) into a few files in the results folder
   ($CNNLIB_RESULTS), so a run cut short keeps what finished, and what the
   device tool brings back fits its limits (at most 8 files, plain names):

       plan<P>-environment.json  GPU, driver, software, data, budget, estimates
       plan<P>-records.json      the trained runs, {"full-<gpu>": {name: record}}
       plan<P>-smoke.json        the 1-epoch smokes, same shape
       plan<P>-pipeline.json     benchmarks/pipeline.py's numbers (plans with it)
       plan<P>-summary.txt       the summary table, also printed at the end
       plan<P>-log.txt           everything the steps printed

`estimate` prints every plan's estimated time; `publish FILE` merges a
returned records file into cnnlib's shipped references (cnnlib.results.publish).
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent.parent))  # the checkout's cnnlib

from . import data, machine, plans, report, run, steps  # noqa: E402,F401
from .data import RefusedError, check_images, count_images, decode_once, unpack  # noqa: E402,F401
from .machine import machine_environment  # noqa: E402,F401
from .plans import (ARCHIVE, EXPECTED_IMAGES, FP16_SMOKES, H100, PIPELINE, PIPELINE_SECONDS, PLAN_SECONDS,  # noqa: E402,F401
                    PLANS, TARGETS, Cost, Speed, costs, estimate_table, plan_seconds, recipe_cost)
from .report import gather, publish, records_of, summary, with_driver, write_json  # noqa: E402,F401
from .run import default_work, main, run_plan, smoke_step, step_command, steps_for  # noqa: E402,F401
from .steps import Calibration, Deadline, Finished, Guard, Log, Outcome, Step, run_limited, run_steps  # noqa: E402,F401
