// RTE with the SAN head (glue/rte_san.jsonnet) and SMART adversarial training. The perturbed
// passes run in training mode and replay the clean pass's kept reasoning steps (step dropout),
// so the divergence measures the perturbation, not which steps were dropped (docs/adversarial.md).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment(
  [tasks.rte { head: { type: 'san', num_turns: 5, step_dropout: 0.1 } }],
  callbacks=[adv.callback()],
)
