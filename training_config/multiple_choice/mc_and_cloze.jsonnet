// Multiple choice and cloze trained together: both score (context, choice) pairs with one shared
// encoder; the cloze task puts each candidate in its blank ('_') first.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.everyday_mc, tasks.everyday_cloze], batch_size=8)
