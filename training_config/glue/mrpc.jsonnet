// Single-task mrpc, MT-DNN's fine-tuning recipe (lr 5e-5, batch 16, 10% warm-up).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.mrpc])
