// QNLI as pairwise ranking (MT-DNN's formulation): one example per question, a softmax over its
// candidate sentences. Trains on the QNLI dev file's question groups (see tasks.libsonnet).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.qnli_ranking], batch_size=8)
