#!/usr/bin/env bash
# The course on a GPU, in one run (under 8 minutes on one GPU): every solution notebook through
# `python -m grader check` on CUDA, then the decoding benchmark on CUDA with --json; one summary at the end.
#
#   tools/gpu_check.sh                 # on a machine with CUDA
#   tools/gpu_check.sh --device cpu    # a dry run of this script on the CPU (or: CPU_OK=1 tools/gpu_check.sh)
#
# How a notebook picks its device: its setup cell calls aiecourse.get_device(), which takes the
# AIECOURSE_DEVICE environment variable when it is set (the kernel inherits it from `grader check`) and
# raises if that device is not there: with AIECOURSE_DEVICE=cuda no notebook can fall back to the CPU
# unnoticed. To show that each kernel really ran on the GPU, an IPython startup file (IPYTHONDIR) logs,
# after every cell, the CUDA memory that kernel has allocated at most; the summary prints it.
#
# Environment: PYTHON (default: .venv/bin/python, else python3), OUT (default: artifacts/gpu_check),
# NOTEBOOK_BUDGET_S (240) and BENCH_BUDGET_S (210): the seconds the two parts may take (7.5 minutes in all).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEVICE=cuda
[[ "${CPU_OK:-}" == 1 ]] && DEVICE=cpu
if [[ "${1:-}" == "--device" ]]; then DEVICE="${2:?--device needs cpu or cuda}"; fi
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
OUT="${OUT:-artifacts/gpu_check}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
NOTEBOOK_BUDGET_S="${NOTEBOOK_BUDGET_S:-240}" # all notebooks together; then the benchmark gets BENCH_BUDGET_S
BENCH_BUDGET_S="${BENCH_BUDGET_S:-210}"
# A CPU dry run on a small shared machine: one thread per kernel is fastest (see the README's run-time table).
[[ "$DEVICE" == cpu ]] && export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
START=$(date +%s)

export AIECOURSE_DEVICE="$DEVICE" MPLBACKEND=Agg
"$PYTHON" - <<EOF
import torch, aiecourse
device = aiecourse.get_device()  # AIECOURSE_DEVICE=$DEVICE: raises if that device is not there
print(f"gpu_check: torch {torch.__version__}, device {aiecourse.describe(device)}")
EOF

# The probe: every kernel the notebooks start reads this startup file.
export IPYTHONDIR="$OUT/ipython"
mkdir -p "$IPYTHONDIR/profile_default/startup"
cat >"$IPYTHONDIR/profile_default/startup/00-gpu-check.py" <<'EOF'
import os as _os
import sys as _sys


def _gpu_check_log(*_):
    torch = _sys.modules.get("torch")
    used = torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized()
    peak = torch.cuda.max_memory_allocated() if used else 0
    with open(_os.environ["GPU_CHECK_LOG"], "a") as f:
        f.write(f"{int(used)} {peak}\n")


get_ipython().events.register("post_run_cell", _gpu_check_log)
EOF

declare -a LINES=()
FAILED=0
for nb in solutions/[0-9]*/[0-9]*.ipynb; do
    chapter="$(basename "$(dirname "$nb")")"
    left=$((NOTEBOOK_BUDGET_S - ($(date +%s) - START)))
    if ((left < 20)); then
        LINES+=("$(printf '%-22s NOT RUN (the notebooks used their %d s)' "$chapter" "$NOTEBOOK_BUDGET_S")")
        FAILED=1
        continue
    fi
    export GPU_CHECK_LOG="$OUT/$chapter.device.log"
    : >"$GPU_CHECK_LOG"
    t0=$(date +%s)
    rc=0
    timeout "$left" "$PYTHON" -m grader check "$nb" >"$OUT/$chapter.check.txt" 2>&1 || rc=$?
    seconds=$(($(date +%s) - t0))
    result="$(grep -E '^[0-9]+/[0-9]+ tests passed' "$OUT/$chapter.check.txt" | tail -1 || true)"
    read -r on_cuda peak < <(awk '{u = u || $1; if ($2 > p) p = $2} END {print u + 0, p + 0}' "$GPU_CHECK_LOG")
    where="cpu"
    ((on_cuda)) && where="cuda, peak $((peak / 1048576)) MiB allocated"
    if ((rc != 0)); then FAILED=1; fi
    if [[ "$DEVICE" == cuda ]] && ((on_cuda == 0)); then
        FAILED=1
        where="$where: NOT ON CUDA"
    fi
    LINES+=("$(printf '%-22s rc=%-3s %4d s  %-40s [%s]' "$chapter" "$rc" "$seconds" "${result:-no result}" "$where")")
done

bench_args=(--device "$DEVICE" --json "$OUT/bench_decode.json")
[[ "$DEVICE" == cpu ]] && bench_args+=(--threads 1 --only bundled --repeats 1) # a dry run: short
t0=$(date +%s)
rc=0
timeout "$BENCH_BUDGET_S" "$PYTHON" tools/bench_decode.py "${bench_args[@]}" >"$OUT/bench_decode.txt" 2>&1 || rc=$?
if ((rc != 0)); then FAILED=1; fi
LINES+=("$(printf '%-22s rc=%-3s %4d s  %s' "bench_decode" "$rc" "$(($(date +%s) - t0))" "$OUT/bench_decode.json")")

echo
echo "==== gpu_check summary: device $DEVICE, $(($(date +%s) - START)) s in all, outputs in $OUT"
printf '%s\n' "${LINES[@]}"
if [[ -s "$OUT/bench_decode.json" ]]; then
    "$PYTHON" - "$OUT/bench_decode.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"benchmark on {r['device']} ({r['threads']} threads; compiled variant: {r['compile']}):")
for m in r["models"]:
    tps = "  ".join(f"{k} {v:.0f}" for k, v in m["tokens_per_s"].items())
    print(
        f"  {m['name']:<16} tokens/s: {tps}; cached/uncached {m['cached_over_uncached']:.1f}x, "
        f"ours/HF {m['ours_over_hf']:.2f}x, roofline fraction {m['roofline_fraction']:.2f}"
    )
EOF
fi
if ((FAILED)); then
    echo "gpu_check: FAILED (see the lines above and $OUT)"
    exit 1
fi
echo "gpu_check: all passed"
