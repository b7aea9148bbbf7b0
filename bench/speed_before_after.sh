#!/usr/bin/env bash
# Before/after of issue 11, as whole processes in turns on one core: two exported copies of the
# project (e.g. `git archive 9d70e31 | tar -x -C /tmp/before`, and the same for the new commit), the
# same model, fastText model and headline file (make them with bench/speed.py's train_models and
# make_headlines). Prints one line per run: copy|format|wall s|user s|system s|peak RSS KiB.
#
#   bash bench/speed_before_after.sh /tmp/before /tmp/after ag.joblib ag.ftz big.txt [ROUNDS] [CORE]
set -euo pipefail
before=$1 after=$2 model=$(realpath "$3") ft=$(realpath "$4") data=$(realpath "$5")
rounds=${6:-3} core=${7:-0}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
py=$(command -v python)
script=$(cd "$after" && "$py" -c 'from bench.speed import FASTTEXT_SCRIPT; print(FASTTEXT_SCRIPT)')
for _ in $(seq "$rounds"); do
  for fmt in "jsonl" "csv" "jsonl --top-k 3"; do
    for copy in "$before" "$after"; do
      # shellcheck disable=SC2086  # $fmt holds the format and its options
      (cd "$copy" && /usr/bin/time -f "$copy|$fmt|%e|%U|%S|%M" taskset -c "$core" \
        "$py" -m classify predict "$data" --model "$model" --no-split -f $fmt > /dev/null) 2>&1 | tail -1
    done
  done
  /usr/bin/time -f "fastText|script|%e|%U|%S|%M" taskset -c "$core" "$py" -c "$script" "$ft" "$data" \
    2>&1 > /dev/null | tail -1
done
