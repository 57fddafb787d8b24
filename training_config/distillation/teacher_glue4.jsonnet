// The teacher: MT-DNN on RTE, MRPC, STS-B and SST-2 with the MiniLM encoder (MTDNN_ENCODER).
// Train several with different MTDNN_SEED (or encoders) for an ensemble; see
// scripts/distill_pipeline.sh.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local kd = import 'distillation.libsonnet';

lib.experiment(kd.glue4(tasks))
