#!/usr/bin/env bash
# The fair comparison's GPU run (issue 11, item 1): every head re-trained with one rule, then the same step-length
# search for every refining head, shipped and re-trained weights in one table.
#
#   OUT=/some/folder bash scripts/device_fair_run.sh          (from any folder)
#
# 1. feature cache (default spec, 24 shards) built by $CACHE_PROCS CPU processes, one shard each (skipped if there);
# 2. at the same time: the step-length search with the SHIPPED weights (CPU pool of $SHIPPED_WORKERS) and the four
#    heads trained on $DEVICE, one process per head (python -m ltr.train_estimators, $EPOCHS epochs, batch $BATCH,
#    checkpoint = lowest val loss) into $OUT/heads (weights in the shipped format, losses.md per head, summary.md);
# 3. the search again with --net_dir shipped $OUT/heads ($WORKERS workers): the shipped rows are read back from
#    their results (resume), the re-trained rows are run; table in $OUT/search/search.md.
# Logs: $OUT/*.log. Dry run on a CPU (search only, tiny): TRAIN=0 MAX_SEQUENCES=1 SCALES="0.5 1" WORKERS=2 ...
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/fair_run}"
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
EPOCHS="${EPOCHS:-8}"
BATCH="${BATCH:-8}"
TRAIN="${TRAIN:-1}"
CACHE_PROCS="${CACHE_PROCS:-16}"
SHIPPED_WORKERS="${SHIPPED_WORKERS:-10}"
WORKERS="${WORKERS:-16}"
SCALES="${SCALES:-0.0625 0.125 0.25 0.5 1 2}"
SEQUENCES="${SEQUENCES:-every_other}"
MAX_SEQUENCES="${MAX_SEQUENCES:-}"
SEEDS="${SEEDS:-0}"
DATASET_PATH="${DATASET_PATH:-}" # demo benchmark root (default: the local settings', built on first use)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -m ltr.admin.local_settings --create >/dev/null
limit=()
[ -n "$MAX_SEQUENCES" ] && limit=(--max_sequences "$MAX_SEQUENCES")
[ -n "$DATASET_PATH" ] && limit+=(--dataset_path "$DATASET_PATH")
search() {  # search <workers> <net_dir...>
    local workers="$1"; shift
    # shellcheck disable=SC2086
    "$PY" -m pytracking.tune_refinement --params default nce iou --scales $SCALES --sequences "$SEQUENCES" \
        "${limit[@]}" --seeds $SEEDS --workers "$workers" --net_dir "$@" --results_path "$OUT/search" --out "$OUT/search"
}
start=$(date +%s)
if [ "$TRAIN" = 1 ]; then
    echo "[fair] cache: $CACHE_PROCS processes"
    seq 0 23 | xargs -P "$CACHE_PROCS" -I{} "$PY" -m ltr.data.feature_cache --shards {} --torch_threads 1 \
        >"$OUT/cache.log" 2>&1 || echo "[fair] WARNING: cache build failed, see $OUT/cache.log"
    echo "[fair] cache done after $(( $(date +%s) - start )) s"
fi
search "$SHIPPED_WORKERS" shipped >"$OUT/search_shipped.log" 2>&1 &
searching=$!
if [ "$TRAIN" = 1 ]; then
    pids=()
    for method in ml-is nce+ iou gauss; do
        "$PY" -m ltr.train_estimators --methods "$method" --device "$DEVICE" --epochs "$EPOCHS" --batch_size "$BATCH" \
            --torch_threads 1 --no_progress --out "$OUT/heads" >"$OUT/train_${method}.log" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || echo "[fair] WARNING: a training process failed, see $OUT/train_*.log"; done
    echo "[fair] training done after $(( $(date +%s) - start )) s"
    "$PY" -c "from ltr.train_estimators import write_summary; print(write_summary('$OUT/heads'))"
fi
wait "$searching" || echo "[fair] WARNING: the shipped search failed, see $OUT/search_shipped.log"
echo "[fair] shipped search done after $(( $(date +%s) - start )) s"
if [ "$TRAIN" = 1 ] && ls "$OUT"/heads/*.pth >/dev/null 2>&1; then
    search "$WORKERS" shipped "$OUT/heads" >"$OUT/search_all.log" 2>&1 || echo "[fair] WARNING: see $OUT/search_all.log"
fi
cat "$OUT/search/search.md" 2>/dev/null
echo "[fair] done after $(( $(date +%s) - start )) s"
