#!/usr/bin/env bash
# The fair comparison's GPU run (issue 11, item 1): every head re-trained with one rule, then the same step-length
# search for every refining head, shipped and re-trained weights in one table.
#
#   OUT=/some/folder bash scripts/device_fair_run.sh          (from any folder)
#
# 1. feature cache built (skipped if there): CACHE_SPEC=default (24 shards, $CACHE_PROCS processes, one shard each)
#    or CACHE_SPEC=wide (photo-bank pairs, $WIDE_SHARDS x 1000: $CACHE_PROCS render processes + one backbone
#    process on $DEVICE; carry workspace/photo_bank, built here with python -m ltr.synthetic.photo_bank);
# 2. at the same time: the step-length search with the SHIPPED weights (CPU pool of $SHIPPED_WORKERS) and the four
#    heads trained on $DEVICE, one process per head (python -m ltr.train_estimators, $EPOCHS epochs, batch $BATCH,
#    checkpoint = lowest val loss) into $OUT/heads (weights in the shipped format, losses.md per head, summary.md);
# 3. the search again with --net_dir shipped $OUT/heads ($WORKERS workers): the shipped rows are read back from
#    their results (resume), the re-trained rows are run; table in $OUT/search/search.md.
# Everything that must come back from a device machine (at most 8 files) is packed at the end: the weights
# $OUT/heads/*.pth stay (4 files) and the rest goes into $OUT/fair_run.tgz.
# Logs: $OUT/*.log. Dry run on a CPU (search only, tiny): TRAIN=0 MAX_SEQUENCES=1 SCALES="0.5 1" WORKERS=2 ...
# Tiny dry run with training: DEVICE=cpu CACHE_SPEC=wide WIDE_SHARDS=3 WIDE_PAIRS=8 EPOCHS=1 MAX_SEQUENCES=1 SCALES=1 ...
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/fair_run}"
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
EPOCHS="${EPOCHS:-8}"
BATCH="${BATCH:-8}"
TRAIN="${TRAIN:-1}"
CACHE_SPEC="${CACHE_SPEC:-default}"  # default | wide
WIDE_SHARDS="${WIDE_SHARDS:-40}"    # wide spec: shards (2 held out for validation) ...
WIDE_PAIRS="${WIDE_PAIRS:-1000}"    # ... of this many pairs
CACHE_PROCS="${CACHE_PROCS:-16}"
SHIPPED_WORKERS="${SHIPPED_WORKERS:-10}"
WORKERS="${WORKERS:-16}"
SCALES="${SCALES:-0.0625 0.125 0.25 0.5 1 2}"
SEQUENCES="${SEQUENCES:-every_other}"
MAX_SEQUENCES="${MAX_SEQUENCES:-}"
SEEDS="${SEEDS:-0}"
DATASETS="${DATASETS:-demo wide_train}"  # train-side sets of the search (wide_train needs the photo bank)
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
    "$PY" -m pytracking.tune_refinement --params default nce iou --scales $SCALES --dataset_name $DATASETS --sequences "$SEQUENCES" \
        "${limit[@]}" --seeds $SEEDS --workers "$workers" --net_dir "$@" --results_path "$OUT/search" --out "$OUT/search"
}
spec_args=(--cache_spec "$CACHE_SPEC")
[ "$CACHE_SPEC" = wide ] && spec_args+=(--num_shards "$WIDE_SHARDS" --pairs_per_shard "$WIDE_PAIRS" --val_shards 2)
start=$(date +%s)
if [ "$TRAIN" = 1 ]; then
    echo "[fair] cache: $CACHE_PROCS processes"
    if [ "$CACHE_SPEC" = wide ]; then
        "$PY" -m ltr.data.feature_cache --spec wide --num_shards "$WIDE_SHARDS" --pairs_per_shard "$WIDE_PAIRS" --processes "$CACHE_PROCS" \
            --device "$DEVICE" >"$OUT/cache.log" 2>&1 || echo "[fair] WARNING: cache build failed, see $OUT/cache.log"
    else
        seq 0 23 | xargs -P "$CACHE_PROCS" -I{} "$PY" -m ltr.data.feature_cache --shards {} --torch_threads 1 \
            >"$OUT/cache.log" 2>&1 || echo "[fair] WARNING: cache build failed, see $OUT/cache.log"
    fi
    echo "[fair] cache done after $(( $(date +%s) - start )) s"
fi
search "$SHIPPED_WORKERS" shipped >"$OUT/search_shipped.log" 2>&1 &
searching=$!
if [ "$TRAIN" = 1 ]; then
    pids=()
    for method in ml-is nce+ iou gauss; do
        "$PY" -m ltr.train_estimators --methods "$method" --device "$DEVICE" --epochs "$EPOCHS" --batch_size "$BATCH" \
            --torch_threads 1 --no_progress "${spec_args[@]}" --out "$OUT/heads" >"$OUT/train_${method}.log" 2>&1 &
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
(cd "$OUT" && tar czf fair_run.tgz --exclude='*.pth' --exclude=fair_run.tgz --exclude='search/demo' -- * 2>/dev/null)
