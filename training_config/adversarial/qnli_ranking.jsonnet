// QNLI as pairwise ranking (glue/qnli_ranking.jsonnet) with SMART adversarial training: the
// noise goes on every candidate pair's word embeddings, and the divergence compares the softmax
// across one question's candidates (symmetric KL, the ranking task type's adv_loss).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.qnli_ranking], batch_size=8, callbacks=[adv.callback()])
