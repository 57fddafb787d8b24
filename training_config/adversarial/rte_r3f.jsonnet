// Single-task RTE with R3F (Aghajanyan et al. 2020): glue/rte.jsonnet plus the adversarial
// callback in R3F mode (normal noise, sigma 1e-5, lambda 1). The SMART counterpart is
// adversarial/rte.jsonnet.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.rte], callbacks=[adv.r3f_callback()])
