// The baseline for mtdnn.jsonnet: the same four GLUE tasks trained together, no adversary.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.rte, tasks.mrpc, tasks.sst2, tasks.stsb])
