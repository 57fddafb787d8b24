// The results campaign's BiLSTM student (docs/results.md, "distill_full"): a one-layer BiLSTM
// over the teacher tokenizer's word pieces, its embeddings copied from the teacher's, on RTE,
// MRPC, STS-B and CoLA, the tasks of the multi-task teacher glue/glue4.jsonnet, trained on hard
// labels and that teacher's soft targets for the whole training sets (MTDNN_SOFT_TARGETS; while
// it is unset, fixtures/distillation/campaign_soft_targets.jsonl, from a tiny-BERT teacher).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local kd = import 'distillation.libsonnet';

kd.student(
  lib.experiment(kd.campaign(tasks), lr=1e-3),
  soft_targets=kd.soft_targets_or_fixture('campaign_soft_targets.jsonl'),
  encoder={ type: 'bilstm', vocab_from: lib.env.encoder, lstm_size: 256 },
)
