// Distillation students (docs/distillation.md): an experiment whose training reader joins each
// example to its teachers' soft targets, and whose loss per task is
// hard_weight * (loss on gold labels) + soft_weight * kd_loss (against the soft targets).
//
// Environment: MTDNN_SOFT_TARGETS, the file `allennlp soft-targets` wrote (default: fixtures).
local lib = import '../experiment.libsonnet';

{
  soft_targets: std.extVar('MTDNN_SOFT_TARGETS'),

  // The four GLUE tasks of the distillation target (RTE, MRPC, STS-B, SST-2).
  glue4(tasks):: [tasks.rte, tasks.mrpc, tasks.sst2, tasks.stsb],

  // experiment: lib.experiment(...); encoder: the student's SharedEncoder.
  student(experiment, encoder, hard_weight=0.5, soft_weight=0.5):: experiment + {
    dataset_reader+: { type: 'mtdnn_distillation', soft_targets: $.soft_targets },
    model+: {
      encoder: encoder,
      hard_loss_weight: hard_weight,
      soft_loss_weight: soft_weight,
    },
  },
}
