// MRPC with masked LM over MRPC's own training texts as an auxiliary task, as
// rte_aux_mlm.jsonnet does for RTE. Compare with training_config/glue/mrpc.jsonnet.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

local aux = tasks.aux_mlm([tasks.mrpc], loss_weight=0.5);

lib.experiment(
  [tasks.mrpc, aux],
  eval_tasks=[tasks.mrpc],
  sampler={ type: 'weighted', weights: { [aux.name]: 0.5 } },
)
