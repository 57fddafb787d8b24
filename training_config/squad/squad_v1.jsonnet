// Extractive QA on SQuAD v1.1 JSON (MTDNN_DATA/squad/{train,dev}-v1.1.json; the fixtures hold a
// small hand-written sample). Windows of 384 word pieces sharing 128 across a long context.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.squad_v1], lr=5e-5, batch_size=16, eval_batch_size=32, max_length=384)
