// Student of teacher_qa.jsonnet: the teacher's encoder cut to 2 layers, trained on QNLI ranking
// and SQuAD v1.1 with the gold answers and the teachers' soft targets (MTDNN_SOFT_TARGETS). The
// loss per task: 0.5 * gold loss + 0.5 * kd_loss, KL across the candidates for ranking and
// `span_kl_divergence` over start and end positions for SQuAD.
// Unset, MTDNN_SOFT_TARGETS falls back to fixtures/distillation/qa_soft_targets.jsonl.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local kd = import 'distillation.libsonnet';

kd.student(
  lib.experiment(
    [tasks.qnli_ranking, tasks.squad_v1], lr=1e-4, batch_size=8, eval_batch_size=32, max_length=384
  ),
  encoder={ type: 'transformer_student', model_name: lib.env.encoder, num_layers: 2 },
  soft_targets=kd.soft_targets_or_fixture('qa_soft_targets.jsonl'),
)
