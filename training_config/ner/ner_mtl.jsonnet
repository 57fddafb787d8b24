// General-domain and biomedical NER together: CoNLL-2003 and NCBI-disease share the encoder,
// each with its own tagging head and label set. Validated on both.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.conll2003, tasks.ncbi_disease], max_length=256)
