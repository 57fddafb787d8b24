// The demo (`make demo`): RTE, SST-2 and STS-B trained together with the MiniLM encoder.
// On the fixtures by default; MTDNN_DATA=../shared/data runs it on the full sets.
local tasks = import 'tasks.libsonnet';
local lib = import 'experiment.libsonnet';

lib.experiment([tasks.rte, tasks.sst2, tasks.stsb], epochs=2, batch_size=16)
