// Single-task RTE with SMART adversarial training: glue/rte.jsonnet plus the callback.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.rte], callbacks=[adv.callback()])
