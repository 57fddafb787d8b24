// Extractive QA on SQuAD v2.0 JSON: as squad_v1, with unanswerable questions (the head's
// no-answer option, scored at [CLS]).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.squad_v2], lr=5e-5, batch_size=16, eval_batch_size=32, max_length=384)
