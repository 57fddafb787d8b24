// RTE with SNLI as auxiliary NLI data: the smallest multi-task setting that tests the paper's
// claim that MTL helps the low-resource NLI task most. Validated on RTE only.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.rte, tasks.snli], eval_tasks=[tasks.rte])
