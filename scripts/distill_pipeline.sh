#!/usr/bin/env bash
# MT-DNN's distillation recipe over the stock allennlp CLI (docs/distillation.md):
#   1. multi-task fine-tuning of the teachers (one per seed in TEACHER_SEEDS: an ensemble),
#   2. single-task refinement of every teacher on every task (multistage/refine.jsonnet),
#   3. soft labels per task from that task's refined teachers, averaged over the seeds
#      (allennlp soft-targets), merged into one file (allennlp merge-soft-targets),
#   4. student distillation (hard labels + soft targets),
#   5. ONNX export of the student, then a check that the export predicts.
#
# Usage: scripts/distill_pipeline.sh OUT_DIR
# Environment: TEACHER_SEEDS (default "1 2"), STUDENT (bilstm | small_transformer; default
# small_transformer), REFINE (1, the default: steps 2-3 as above; 0: no refinement, the
# multi-task teachers label every task), and the configs' MTDNN_DATA, MTDNN_ENCODER,
# MTDNN_EPOCHS, MTDNN_SMOKE, MTDNN_TRAIN_EXAMPLES. Run from the repository root.
set -euo pipefail

OUT=${1:?usage: scripts/distill_pipeline.sh OUT_DIR}
TEACHER_SEEDS=${TEACHER_SEEDS:-1 2}
STUDENT=${STUDENT:-small_transformer}
REFINE=${REFINE:-1}
ALLENNLP=${ALLENNLP:-allennlp}
PYTHON=${PYTHON:-python}
PLUGIN=(--include-package mtdnn_allennlp)
CONFIGS=training_config/distillation
mkdir -p "$OUT"
case "$REFINE" in
  0 | 1) ;;
  *) echo "REFINE must be 0 or 1, not '$REFINE'" >&2; exit 2 ;;
esac

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

# The training files the teachers read, as a {task: file} mapping from the archived config.
train_paths=$("$PYTHON" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["train_data_path"]))' \
  "$OUT/teacher_seed${TEACHER_SEEDS%% *}/config.json")
# With MTDNN_TRAIN_EXAMPLES, the student reads a seeded subset (MTDNN_SEED picks it): the
# teachers label just that subset. The subset of a task depends only on the seed and the task's
# name, so labelling task by task (step 3) picks the same examples as the student.
subset=()
if [ "${MTDNN_TRAIN_EXAMPLES:-0}" != "0" ]; then
  subset=(--sample-per-task "$MTDNN_TRAIN_EXAMPLES" --sample-seed "${MTDNN_SEED:-2018}")
fi

if [ "$REFINE" = 0 ]; then
  echo "== 2. single-task refinement: skipped (REFINE=0)"
  echo "== 3. ensemble soft labels over ${#teachers[@]} multi-task teacher(s)"
  archives=$(IFS=,; echo "${teachers[*]}")
  "$ALLENNLP" soft-targets "$archives" "$train_paths" --output-file "$OUT/soft_targets.jsonl" \
    --per-teacher-dir "$OUT/soft_targets_per_teacher" "${subset[@]}" "${PLUGIN[@]}"
else
  tasks=$("$PYTHON" -c 'import json, sys; print(" ".join(json.loads(sys.argv[1])))' "$train_paths")
  for task in $tasks; do
    task_path=$("$PYTHON" -c 'import json, sys; print(json.dumps({sys.argv[2]: json.loads(sys.argv[1])[sys.argv[2]]}))' \
      "$train_paths" "$task")
    refined=()
    for seed in $TEACHER_SEEDS; do
      run="$OUT/refined_seed${seed}_$task"
      if [ -f "$run/model.tar.gz" ]; then
        echo "== 2. refine teacher seed $seed on $task: already trained, reused"
      else
        echo "== 2. refine teacher seed $seed on $task"
        MTDNN_SEED=$seed MTDNN_INIT_ARCHIVE="$OUT/teacher_seed$seed/model.tar.gz" \
          MTDNN_REFINE_TASK=$task "$ALLENNLP" train training_config/multistage/refine.jsonnet \
          -s "$run" "${PLUGIN[@]}"
      fi
      refined+=("$run/model.tar.gz")
    done
    echo "== 3. $task: soft labels averaged over ${#refined[@]} refined teacher(s)"
    archives=$(IFS=,; echo "${refined[*]}")
    "$ALLENNLP" soft-targets "$archives" "$task_path" \
      --output-file "$OUT/soft_targets_by_task/$task.jsonl" \
      --per-teacher-dir "$OUT/soft_targets_by_task/per_teacher_$task" "${subset[@]}" "${PLUGIN[@]}"
  done
  echo "== 3. one soft-target file for the multi-task student"
  by_task=()
  for task in $tasks; do by_task+=("$OUT/soft_targets_by_task/$task.jsonl"); done
  "$ALLENNLP" merge-soft-targets "${by_task[@]}" --output-file "$OUT/soft_targets.jsonl" \
    "${PLUGIN[@]}"
  # Each teacher seed's own labels over all tasks too, as REFINE=0 keeps them.
  index=0
  for seed in $TEACHER_SEEDS; do
    own=()
    for task in $tasks; do
      own+=("$OUT/soft_targets_by_task/per_teacher_$task/teacher_$index.jsonl")
    done
    "$ALLENNLP" merge-soft-targets "${own[@]}" \
      --output-file "$OUT/soft_targets_per_teacher/teacher_$index.jsonl" "${PLUGIN[@]}"
    index=$((index + 1))
  done
fi

echo "== 4. student ($STUDENT) on hard labels and soft targets"
MTDNN_SOFT_TARGETS="$OUT/soft_targets.jsonl" "$ALLENNLP" train \
  "$CONFIGS/student_$STUDENT.jsonnet" -s "$OUT/student_$STUDENT" "${PLUGIN[@]}"

echo "== 5. ONNX export"
"$ALLENNLP" export-onnx "$OUT/student_$STUDENT/model.tar.gz" "$OUT/student_${STUDENT}_onnx" \
  "${PLUGIN[@]}"
echo "done: student $OUT/student_$STUDENT/model.tar.gz, export $OUT/student_${STUDENT}_onnx"
