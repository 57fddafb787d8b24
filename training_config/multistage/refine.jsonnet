// Stage 2 of MT-DNN's recipe: refine a multi-task model on a single task (docs/multistage.md).
//
//   MTDNN_INIT_ARCHIVE  (required) the model.tar.gz of a stage-1 multi-task run, e.g. of
//                       training_config/glue/mtdnn.jsonnet
//   MTDNN_REFINE_TASK   the task to refine (default: rte); the archive must have its head
//
// The encoder and the task's head start from the archive's weights; everything else (data,
// optimizer, epochs) is this config's, as for single-task training (glue/rte.jsonnet).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

local archive = std.extVar('MTDNN_INIT_ARCHIVE');
local name = std.extVar('MTDNN_REFINE_TASK');

if archive == '' then
  error ('multistage/refine.jsonnet: MTDNN_INIT_ARCHIVE is not set. Set it to the model.tar.gz '
         + 'of a stage-1 multi-task run, e.g. MTDNN_INIT_ARCHIVE=runs/mtl/model.tar.gz')
else if !std.objectHas(tasks, name) then
  error ('multistage/refine.jsonnet: MTDNN_REFINE_TASK=' + name + ' is not a task of '
         + 'tasks.libsonnet (' + std.join(', ', std.objectFields(tasks)) + ')')
else
  lib.experiment(
    [tasks[name]],
    model_extra={
      init_from_archive: { archive_file: archive, heads: [name], encoder: true },
    },
  )
