// MT-DNN's multi-task stage on the four small GLUE tasks of the results campaign: RTE, MRPC,
// STS-B and CoLA trained together, batches drawn in proportion to each task's size, every task
// validated (the best epoch by the average of the four). Compare with glue/rte.jsonnet,
// glue/mrpc.jsonnet, glue/stsb.jsonnet and glue/cola.jsonnet (docs/results.md, "Campaign").
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.rte, tasks.mrpc, tasks.stsb, tasks.cola])
