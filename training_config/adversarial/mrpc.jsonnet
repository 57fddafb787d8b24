// Single-task MRPC with SMART adversarial training: glue/mrpc.jsonnet plus the callback.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.mrpc], callbacks=[adv.callback()])
