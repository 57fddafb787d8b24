// Single-task MRPC with R3F (Aghajanyan et al. 2020): glue/mrpc.jsonnet plus the adversarial
// callback in R3F mode (normal noise, sigma 1e-5, lambda 1). The SMART counterpart is
// adversarial/mrpc.jsonnet.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.mrpc], callbacks=[adv.r3f_callback()])
