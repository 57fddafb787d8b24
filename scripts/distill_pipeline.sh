#!/usr/bin/env bash
# MT-DNN's distillation recipe over the stock allennlp CLI (docs/distillation.md):
#   1. multi-task fine-tuning of the teachers (one per seed in TEACHER_SEEDS: an ensemble),
#   2. single-task refinement: NOT run here (the package has no multi-stage initialisation
#      yet); the multi-task teachers are used as they are,
#   3. ensemble soft labels on the training files (allennlp soft-targets),
#   4. student distillation (hard labels + soft targets),
#   5. ONNX export of the student, then a check that the export predicts.
#
# Usage: scripts/distill_pipeline.sh OUT_DIR
# Environment: TEACHER_SEEDS (default "1 2"), STUDENT (bilstm | small_transformer; default
# small_transformer), and the configs' MTDNN_DATA, MTDNN_ENCODER, MTDNN_EPOCHS, MTDNN_SMOKE,
# MTDNN_TRAIN_EXAMPLES. Run from the repository root.
set -euo pipefail

OUT=${1:?usage: scripts/distill_pipeline.sh OUT_DIR}
TEACHER_SEEDS=${TEACHER_SEEDS:-1 2}
STUDENT=${STUDENT:-small_transformer}
ALLENNLP=${ALLENNLP:-allennlp}
PYTHON=${PYTHON:-python}
PLUGIN=(--include-package mtdnn_allennlp)
CONFIGS=training_config/distillation
mkdir -p "$OUT"

teachers=()
for seed in $TEACHER_SEEDS; do
  if [ -f "$OUT/teacher_seed$seed/model.tar.gz" ]; then
    # A second student (STUDENT=...) reuses the teachers of an earlier run.
    echo "== 1. multi-task teacher, seed $seed: already trained, reused"
  else
    echo "== 1. multi-task teacher, seed $seed"
    MTDNN_SEED=$seed "$ALLENNLP" train "$CONFIGS/teacher_glue4.jsonnet" \
      -s "$OUT/teacher_seed$seed" "${PLUGIN[@]}"
  fi
  teachers+=("$OUT/teacher_seed$seed/model.tar.gz")
done

echo "== 2. single-task refinement: skipped (no multi-stage initialisation in the package yet)"

echo "== 3. ensemble soft labels over ${#teachers[@]} teacher(s)"
# The training files the teachers read, as a {task: file} mapping from the archived config.
train_paths=$("$PYTHON" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["train_data_path"]))' \
  "$OUT/teacher_seed${TEACHER_SEEDS%% *}/config.json")
archives=$(IFS=,; echo "${teachers[*]}")
# With MTDNN_TRAIN_EXAMPLES, the student reads a seeded subset (MTDNN_SEED picks it): the
# teachers label just that subset.
subset=()
if [ "${MTDNN_TRAIN_EXAMPLES:-0}" != "0" ]; then
  subset=(--sample-per-task "$MTDNN_TRAIN_EXAMPLES" --sample-seed "${MTDNN_SEED:-2018}")
fi
"$ALLENNLP" soft-targets "$archives" "$train_paths" --output-file "$OUT/soft_targets.jsonl" \
  --per-teacher-dir "$OUT/soft_targets_per_teacher" "${subset[@]}" "${PLUGIN[@]}"

echo "== 4. student ($STUDENT) on hard labels and soft targets"
MTDNN_SOFT_TARGETS="$OUT/soft_targets.jsonl" "$ALLENNLP" train \
  "$CONFIGS/student_$STUDENT.jsonnet" -s "$OUT/student_$STUDENT" "${PLUGIN[@]}"

echo "== 5. ONNX export"
"$ALLENNLP" export-onnx "$OUT/student_$STUDENT/model.tar.gz" "$OUT/student_${STUDENT}_onnx" \
  "${PLUGIN[@]}"
echo "done: student $OUT/student_$STUDENT/model.tar.gz, export $OUT/student_${STUDENT}_onnx"
