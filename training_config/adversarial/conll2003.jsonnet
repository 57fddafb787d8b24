// CoNLL-2003 NER with SMART adversarial training: a per-token symmetric KL over real tokens.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.conll2003], max_length=256, callbacks=[adv.callback()])
