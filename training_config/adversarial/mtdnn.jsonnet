// Multi-task GLUE (RTE, MRPC, SST-2, STS-B) with SMART adversarial training on every task:
// classification by symmetric KL, STS-B by MSE (each task's adv_loss in tasks.libsonnet).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment(
  [tasks.rte, tasks.mrpc, tasks.sst2, tasks.stsb],
  callbacks=[adv.callback()],
)
