// TREC question classification from its original line format (`COARSE:fine question`, Latin-1),
// read with the mtdnn_regex layout: no conversion script (docs/tutorial_new_task.md).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.trec], batch_size=8)
