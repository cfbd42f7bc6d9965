#!/usr/bin/env bash
# Train one plan of full-mode recipes on a lent GPU within a time budget:
#     CNNLIB_RESULTS=$OUT bash benchmarks/device_run.sh PLAN [--budget SECONDS]
# PLAN is 1, 2, 3a or 3b; the logic, and what lands in $CNNLIB_RESULTS, is in
# benchmarks/device_run/; how to call it through the device tool is in
# benchmarks/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" -m benchmarks.device_run run "$@"
