// Single-task QQP (question-pair paraphrase; accuracy and F1), MT-DNN's fine-tuning recipe
// (lr 5e-5, batch 16, 10% warm-up). The shared data has no QQP: set MTDNN_DATA to a GLUE folder
// that holds QQP/{train,dev}.tsv (id qid1 qid2 question1 question2 is_duplicate).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.qqp])
