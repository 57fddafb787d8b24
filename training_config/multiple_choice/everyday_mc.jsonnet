// Multiple choice (SWAG/ARC/COPA style): a softmax over one score per (context, choice) pair,
// choices padded and masked where their number differs. See docs/multiple_choice.md.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.everyday_mc], batch_size=8)
