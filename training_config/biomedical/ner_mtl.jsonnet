// Biomedical NER, multi-task: NCBI-disease, BC5CDR-chemical and BC5CDR-disease share the
// encoder, each with its own tagging head and label set.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.ncbi_disease, tasks.bc5cdr_chem, tasks.bc5cdr_disease], max_length=256)
