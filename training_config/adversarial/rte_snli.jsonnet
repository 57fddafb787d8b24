// RTE with SNLI as auxiliary NLI data and SMART adversarial training on both tasks: the
// multi-task counterpart of adversarial/rte.jsonnet, compared against glue/rte_snli.jsonnet.
// Validated on RTE only.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.rte, tasks.snli], eval_tasks=[tasks.rte], callbacks=[adv.callback()])
