// Single-task QNLI as classification (does the sentence answer the question?), MT-DNN's
// fine-tuning recipe (lr 5e-5, batch 16, 10% warm-up). The shared data has QNLI's dev and test
// files but no train file: with MTDNN_DATA=../shared/data this config cannot train (use
// glue/qnli_ranking.jsonnet, which trains on the dev file's question groups, or a GLUE folder
// with QNLI/train.tsv).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.qnli])
