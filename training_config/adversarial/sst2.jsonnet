// Single-task SST-2 with SMART adversarial training: glue/sst2.jsonnet plus the callback.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.sst2], callbacks=[adv.callback()])
