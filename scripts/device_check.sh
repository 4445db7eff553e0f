#!/usr/bin/env bash
# The GPU device check: everything that needs CUDA, in one call, figures into one file.
#
#   OUT=/some/folder bash scripts/device_check.sh [GROUP ...]   (on a machine with CUDA; under 8 minutes on one H200)
#   GROUPs run in the order given; default: tests speed pools demo train training_data (also: compiled, batched)
#
# Runs, from the repository root:
#   1. the CUDA tests: CPU-vs-CUDA PrRoIPool, estimator score and gradient, one refinement; CUDA graph against
#      eager boxes (refinement, backbone, whole tracker); the indexed-device resolution;
#   2. the tracker's speed: benchmark_tracker atom default (graphs on, graphs off), fast, iou on CUDA;
#   3. evaluation throughput: run_demo --device cuda with W worker processes sharing the GPU (aggregate frames/s),
#      and the boxes of W workers against one worker (must be identical); group batched: run_demo --batch_sequences B
#      (B in $BATCHES, one process, backbone and refinement batched), its boxes against one sequence at a time;
#   4. training: NCCL with one process (torchrun), one training step in fp32, bf16 and fp16, and
#      scripts/device_training_check.sh (real-layout data, jpeg4py) when it is there.
# Every step has its own time limit and its own log; a failing step does not stop the others. The summary is
# $OUT/device_check.md, the step logs $OUT/device_check_logs.tgz. Packages the machine lacks travel as wheels in .whl/ (see README).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/device_check}"
LOGS="$(mktemp -d)"                 # step logs; packed into $OUT/device_check_logs.tgz at the end
mkdir -p "$OUT"
REPORT="$OUT/device_check.md"
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"             # DEVICE=cpu runs the same steps on the CPU (a dry run of this script)
FRAMES="${FRAMES:-300}"
WORKERS="${WORKERS:-8}"
POOLS="${POOLS:-4 8 14}"            # worker counts of the steady-state pool benchmark
LIMIT_DEMO="${LIMIT_DEMO:-240}"
BATCHES="${BATCHES:-16 32 64}"      # widths of the batched engine (group batched)
BATCH_RUNS="${BATCH_RUNS:-6}"       # run ids tracked together by the batched engine: 12 x 6 = 72 pairs
export PYTHONUNBUFFERED=1 TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1

if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
if ls .whl/libturbojpeg*.deb >/dev/null 2>&1; then
    mkdir -p /tmp/tj && dpkg -x .whl/libturbojpeg*.deb /tmp/tj \
        && export LD_LIBRARY_PATH="$(dirname "$(find /tmp/tj -name 'libturbojpeg.so.0*' | head -1)")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -m ltr.admin.local_settings --create >/dev/null

{
    echo "# Device check, $(date -u +%Y-%m-%d' '%H:%M' UTC')"
    echo
    "$PY" -c "import torch; n = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA'; print(f'- machine: {n}, torch {torch.__version__}, CUDA {torch.version.cuda}')"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) logical CPUs"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
} >"$REPORT"

step() {  # step NAME LIMIT_S COMMAND...: run with a time limit, log to $LOGS/NAME.log, record the status
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$LOGS/$name.log" 2>&1
    local rc=$?
    echo "- step \`$name\`: $([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - start)) s" >>"$REPORT"
    return $rc
}

tests() {      # correctness on CUDA
    step cuda_tests 240 "$PY" -m pytest -q -p no:cacheprovider tests/test_cuda_paths.py tests/test_graphed_refinement.py \
        tests/test_cuda_device_resolution.py tests/test_batched_running.py
    tail -3 "$LOGS/cuda_tests.log" | sed 's/^/    /' >>"$REPORT"
}

speed_run() {  # speed_run NAME PARAM [FLAGS...]: benchmark_tracker on $DEVICE
    local name=$1 param=$2
    shift 2
    step "$name" "${LIMIT_SPEED:-120}" "$PY" -m pytracking.benchmark_tracker atom "$param" --device "$DEVICE" \
        --frames "$FRAMES" "$@" --output "$LOGS/$name.json"
    grep -E "fps|machine" "$LOGS/$name.log" | sed 's/^/    /' >>"$REPORT"
}

speed() {      # the tracker's speed: graphs on and off, the other parameter files
    speed_run speed_default default
    speed_run speed_default_eager default --no_cuda_graph
    speed_run speed_fast fast
    speed_run speed_iou iou
}

compiled() {   # experimental: the estimator's pass through torch.compile, inside the graph
    speed_run speed_default default
    LIMIT_SPEED=${LIMIT_COMPILE:-150} speed_run speed_default_compiled default --compile_refinement
}

pools() {      # steady-state aggregate frames/s of W worker processes sharing the GPU
    for workers in $POOLS; do
        step "pool_w$workers" 180 "$PY" -m pytracking.benchmark_tracker atom default --device "$DEVICE" \
            --processes "$workers" --frames "$FRAMES" --output "$LOGS/pool_w$workers.json"
        grep -E "aggregate" "$LOGS/pool_w$workers.log" | sed "s/^/    $workers workers: /" >>"$REPORT"
    done
}

demo() {       # the demo with W workers and with one: scores, aggregate frames/s, identical boxes
    for workers in "$WORKERS" 1; do
        step "demo_w$workers" "$LIMIT_DEMO" "$PY" -m pytracking.run_demo --device "$DEVICE" --threads "$workers" \
            --quiet --results_path "$LOGS/tmp_results_w$workers" --out "$LOGS/tmp_demo_w$workers"
        grep -E "^\| atom|wall time|\[run\] tracked" "$LOGS/demo_w$workers.log" | sed 's/^/    /' >>"$REPORT"
    done
    "$PY" - "$LOGS/tmp_results_w$WORKERS" "$LOGS/tmp_results_w1" >>"$REPORT" 2>&1 <<'EOF'
import sys
from pathlib import Path

a, b = (Path(p) for p in sys.argv[1:3])
files = sorted(p.relative_to(a) for p in a.rglob("*.txt") if not p.name.endswith("_time.txt"))
same = [f for f in files if (b / f).is_file() and (a / f).read_bytes() == (b / f).read_bytes()]
print(f"- boxes with several workers against one worker: {len(same)} of {len(files)} result files identical")
EOF
    rm -rf "$LOGS"/tmp_*
}

batched() {    # the batched engine: B sequences at a time in one process; aggregate frames/s; boxes against sequential
    # reference: run 0 one sequence at a time ($WORKERS workers); then each B tracks runs 0 .. BATCH_RUNS - 1
    # (12 demo sequences x BATCH_RUNS pairs, so that B = 64 is filled) and its run 0 is compared with the reference
    step batched_sequential "$LIMIT_DEMO" "$PY" -m pytracking.run_demo --device "$DEVICE" --threads "$WORKERS" \
        --runid 0 --quiet --results_path "$LOGS/tmp_batched_seq" --out "$LOGS/tmp_batched_seq_out"
    grep -E "^\| atom|\[run\] tracked" "$LOGS/batched_sequential.log" | sed 's/^/    sequential: /' >>"$REPORT"
    for b in $BATCHES; do
        step "batched_b$b" "${LIMIT_BATCHED:-150}" "$PY" -m pytracking.run_demo --device "$DEVICE" \
            --batch_sequences "$b" --runs "$BATCH_RUNS" --quiet --results_path "$LOGS/tmp_batched_b$b" --out "$LOGS/tmp_batched_b${b}_out"
        grep -E "^\| atom/default_000|\[batched\] (tracked|host)" "$LOGS/batched_b$b.log" | sed "s/^/    B = $b: /" >>"$REPORT"
        "$PY" - "$LOGS/tmp_batched_b$b/demo/atom/default_000" "$LOGS/tmp_batched_seq/demo/atom/default_000" \
            >>"$REPORT" 2>&1 <<'EOF'
import sys
from pathlib import Path

from pytracking.evaluation.batched_running import compare_results

a, b = sys.argv[1:3]
names = sorted(p.stem for p in Path(b).glob("*.txt") if not p.name.endswith("_time.txt"))
print(f"    B run 0 against sequential: {compare_results(a, b, names).describe()}")
EOF
    done
    rm -rf "$LOGS"/tmp_*
}

train() {      # NCCL with one process, one training step in fp32, bf16, fp16
    if [ "$DEVICE" != cpu ]; then
        step nccl_torchrun 180 "$PY" -m torch.distributed.run --standalone --nproc_per_node=1 -m ltr.run_training \
            bbreg tiny --device cuda
        tail -2 "$LOGS/nccl_torchrun.log" | sed 's/^/    /' >>"$REPORT"
    fi
    for amp in off bf16 fp16; do
        step "train_step_$amp" 120 "$PY" -m ltr.benchmark_training atom_ebm_cpu --device "$DEVICE" --iterations 5 \
            --warmup 1 --amp "$amp"
        grep "pairs/s" "$LOGS/train_step_$amp.log" | sed 's/^/    /' >>"$REPORT"
    done
}

training_data() {   # training throughput on real-layout data through jpeg4py (scripts/device_training_check.sh)
    step training_check "${LIMIT_TRAINING:-300}" bash scripts/device_training_check.sh
    [ -f "$OUT/training_check.txt" ] && sed 's/^/    /' "$OUT/training_check.txt" >>"$REPORT"
}

GROUPS_TO_RUN="${*:-tests speed pools demo train training_data}"
for g in $GROUPS_TO_RUN; do
    case $g in
        tests|speed|compiled|pools|demo|batched|train|training_data) ;;
        *) echo "unknown step group '$g' (tests speed compiled pools demo batched train training_data)" >&2; exit 2 ;;
    esac
done
for g in $GROUPS_TO_RUN; do
    $g
    tar -czf "$OUT/device_check_logs.tgz" -C "$LOGS" .   # after every group: a time-out keeps what was done
done
rm -rf "$LOGS"
echo >>"$REPORT"
echo "done; step logs in $OUT/device_check_logs.tgz" >>"$REPORT"
cat "$REPORT"
