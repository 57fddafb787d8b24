// A question-answering teacher: QNLI as pairwise ranking and SQuAD v1.1 extractive QA, trained
// together with the MiniLM encoder (MTDNN_ENCODER). Its soft targets are a softmax across each
// question's candidate sentences and per-word start and end probabilities (docs/distillation.md).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment(
  [tasks.qnli_ranking, tasks.squad_v1], lr=5e-5, batch_size=8, eval_batch_size=32, max_length=384
)
