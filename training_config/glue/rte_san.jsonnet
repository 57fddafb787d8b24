// RTE with MT-DNN's stochastic answer network head (5 reasoning steps, 10% step dropout) in
// place of the linear classifier: the only change is the task's head.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.rte { head: { type: 'san', num_turns: 5, step_dropout: 0.1 } }])
