// MT-DNN multi-task fine-tuning: every GLUE task that has training data here, with SNLI as
// extra NLI data (its dev split stands in for training, see tasks.libsonnet). Validated on
// the GLUE tasks; `validation_metric` is their average score.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

local glue = [tasks.cola, tasks.sst2, tasks.mrpc, tasks.stsb, tasks.rte, tasks.wnli];

lib.experiment(glue + [tasks.snli], eval_tasks=glue)
