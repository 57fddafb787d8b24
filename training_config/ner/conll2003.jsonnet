// CoNLL-2003 NER: one tag per word on its first word piece; span F1 (seqeval).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.conll2003], max_length=256)
