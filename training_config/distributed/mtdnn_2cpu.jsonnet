// Multi-task training (RTE, SST-2, STS-B) with 2 worker processes on CPU (gloo), through
// allennlp's `distributed` section; see docs/distributed.md. On GPUs, list the device ids
// instead of -1s: cuda_devices: [0, 1].
//
// Each worker takes every other batch of the same epoch schedule (the loader deals them out),
// so one step processes 2 batches and an epoch has half as many steps. Validation is shared
// the same way and the metrics are gathered from both workers before they are computed.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.rte, tasks.sst2, tasks.stsb], epochs=2) + {
  distributed: {
    cuda_devices: [-1, -1],
    // A batch holds one task, so in each step the other tasks' heads get no gradient on that
    // worker: DDP must be told to expect parameters that took no part in the forward pass.
    ddp_accelerator: { type: 'torch', find_unused_parameters: true },
  },
}
