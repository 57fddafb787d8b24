// RTE with masked LM over RTE's own training texts as an auxiliary task. The weighted sampler
// gives the masked-LM task half as many batches per epoch as it has; its loss counts half.
// Validated on RTE only. Compare with training_config/glue/rte.jsonnet (docs/results.md).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

local aux = tasks.aux_mlm([tasks.rte], loss_weight=0.5);

lib.experiment(
  [tasks.rte, aux],
  eval_tasks=[tasks.rte],
  sampler={ type: 'weighted', weights: { [aux.name]: 0.5 } },
)
