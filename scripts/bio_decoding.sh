#!/usr/bin/env bash
# Span F1 with and without constrained BIO decoding, on the same trained models
# (docs/task_library.md, "Valid tagging output"). Decoding is a prediction-time setting, so each
# training run is evaluated twice on the whole dev set: a paired comparison per seed.
#   MTDNN_DATA=../shared/data bash scripts/bio_decoding.sh OUT_DIR [TRAIN_EXAMPLES] [EPOCHS] [SEEDS]
# then: python scripts/bio_decoding_table.py OUT_DIR
set -euo pipefail
out=${1:?output folder}
examples=${2:-2000}
epochs=${3:-2}
seeds=${4:-1 2 3}
: "${MTDNN_DATA:?set MTDNN_DATA to the real data, e.g. ../shared/data}"
allennlp=${ALLENNLP:-.venv/bin/allennlp}
declare -A configs=(
  [conll2003]=training_config/ner/conll2003.jsonnet
  [ncbi_disease]=training_config/biomedical/ncbi_disease.jsonnet
)
declare -A dev=(
  [conll2003]=$MTDNN_DATA/ner/CoNLL2003/valid.txt
  [ncbi_disease]=$MTDNN_DATA/ner/BioNER/NCBI-disease-IOB/devel.tsv
)
for seed in $seeds; do
  for task in conll2003 ncbi_disease; do
    run=$out/$task/seed$seed
    if [ ! -f "$run/model.tar.gz" ]; then
      rm -rf "$run"
      MTDNN_SEED=$seed MTDNN_TRAIN_EXAMPLES=$examples MTDNN_EPOCHS=$epochs \
        "$allennlp" train "${configs[$task]}" -s "$run" --include-package mtdnn_allennlp
    fi
    for constrained in true false; do
      [ -f "$run/dev_constrained_$constrained.json" ] && continue
      "$allennlp" evaluate "$run/model.tar.gz" "{\"$task\": \"${dev[$task]}\"}" \
        --output-file "$run/dev_constrained_$constrained.json" --include-package mtdnn_allennlp \
        -o "{\"model.tasks.0.head\": {\"constrained_decoding\": $constrained}}"
    done
  done
done
