// RTE as the main task with SNLI as auxiliary data, mixed as MT-DNN's `--ratio 0.5` does: each
// epoch has every RTE batch and half as many SNLI batches, drawn afresh each epoch and
// shuffled in with RTE's (the main_task_ratio sampler, mtdnn_allennlp/data/data_loaders/
// samplers.py). Compare with glue/rte_snli.jsonnet, where SNLI's 9842 pairs swamp RTE's 2490.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment(
  [tasks.rte, tasks.snli],
  eval_tasks=[tasks.rte],
  sampler={ type: 'main_task_ratio', main_task: 'rte', ratio: 0.5 },
)
