// `make demo`: SST-2 and STS-B trained together with the MiniLM encoder on samples big enough
// to learn from within a few minutes on 2 CPU cores: 1500 SST-2 and 1000 STS-B training rows,
// 400 and 300 dev rows (fixtures/demo, cut from the GLUE files by scripts/make_demo_data.py).
// Paths are relative to the project root, where `make demo` runs.
//
// Only MiniLM's top two layers and the heads train: backpropagating through all six layers
// made one epoch of these samples take longer than the whole time budget on 2 cores. With the
// encoder frozen entirely, SST-2 still learned (its features carry sentiment) but STS-B did
// not (dev Pearson 0.1 after two epochs): comparing two sentences needs the top layers, which
// see both, to adapt.
// training_config/demo.jsonnet stays the three-task configuration on the tiny fixtures that
// the tests train.
local tasks = import 'tasks.libsonnet';
local lib = import 'experiment.libsonnet';

local demo(task, folder) = task {
  data:: {
    train: 'fixtures/demo/' + folder + '/train.tsv',
    dev: 'fixtures/demo/' + folder + '/dev.tsv',
  },
};

// Embeddings and layers 0-3 keep their weights; a parameter may be in one group only, so the
// no-weight-decay group leaves the frozen ones out.
local frozen = 'encoder\\.transformer\\.(embeddings|encoder\\.layer\\.[0-3])\\.';

lib.experiment(
  [demo(tasks.sst2, 'SST-2'), demo(tasks.stsb, 'STS-B')],
  lr=3e-4,
  batch_size=32,
  epochs=2,
  max_length=48,
  trainer_extra={
    optimizer+: {
      parameter_groups: [
        [[frozen], { requires_grad: false }],
        [['^(?!' + frozen + ').*(bias|LayerNorm\\.weight)'], { weight_decay: 0 }],
      ],
    },
  },
)
