// Extractive QA on SQuAD v1.1 (squad/squad_v1.jsonnet) with SMART adversarial training. The
// divergence is symmetric KL between the clean and perturbed start distributions and between
// the end distributions, over the positions an answer may take (span_symmetric_kl).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment(
  [tasks.squad_v1],
  lr=5e-5,
  batch_size=16,
  eval_batch_size=32,
  max_length=384,
  callbacks=[adv.callback()],
)
