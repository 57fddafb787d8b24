// NCBI-disease NER on its own (the single-task baseline of ner_mtl.jsonnet).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.ncbi_disease], max_length=256)
