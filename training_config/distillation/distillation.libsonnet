// Distillation students (docs/distillation.md): an experiment whose training reader joins each
// example to its teachers' soft targets, and whose loss per task is
// hard_weight * (loss on gold labels) + soft_weight * kd_loss (against the soft targets).
//
// Environment: MTDNN_SOFT_TARGETS, the file `allennlp soft-targets` wrote (default: fixtures).
local lib = import '../experiment.libsonnet';

local glue4_fixture = '/fixtures/distillation/glue4_soft_targets.jsonl';

{
  soft_targets: std.extVar('MTDNN_SOFT_TARGETS'),

  // MTDNN_SOFT_TARGETS, or, while it is unset (its default is the GLUE-4 fixture), the fixture
  // file `name` beside that one: a student of other tasks then runs with no environment set,
  // on soft targets made for its own tasks.
  soft_targets_or_fixture(name)::
    if std.endsWith($.soft_targets, glue4_fixture) then
      std.substr($.soft_targets, 0, std.length($.soft_targets) - std.length(glue4_fixture))
      + '/fixtures/distillation/' + name
    else $.soft_targets,

  // The four GLUE tasks of the distillation target (RTE, MRPC, STS-B, SST-2).
  glue4(tasks):: [tasks.rte, tasks.mrpc, tasks.sst2, tasks.stsb],

  // The four tasks of the results campaign's multi-task teacher, glue/glue4.jsonnet (RTE, MRPC,
  // STS-B, CoLA): CoLA's 8.5k training sentences, unlike SST-2's 67k, let students be distilled
  // on whole training sets on a CPU (docs/results.md, "distill_full").
  campaign(tasks):: [tasks.rte, tasks.mrpc, tasks.stsb, tasks.cola],

  // experiment: lib.experiment(...); encoder: the student's SharedEncoder; soft_targets: a file
  // or a {task: file} mapping.
  student(experiment, encoder, hard_weight=0.5, soft_weight=0.5, soft_targets=$.soft_targets)::
    experiment + {
      dataset_reader+: { type: 'mtdnn_distillation', soft_targets: soft_targets },
      model+: {
        encoder: encoder + lib.precision_encoder,
        hard_loss_weight: hard_weight,
        soft_loss_weight: soft_weight,
      },
    },
}
