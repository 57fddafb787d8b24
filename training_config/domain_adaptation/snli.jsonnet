// snli: no training split is available here, so the dev split trains and test evaluates
// (see tasks.libsonnet). MTDNN_ENCODER can point at an MT-DNN-trained encoder folder.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.snli])
