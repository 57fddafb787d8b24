// GLUE RTE read from a Hugging Face `datasets` folder (DatasetDict.save_to_disk) instead of
// TSV files: the task library's RTE with another reader and data paths. The label column is a
// ClassLabel whose names are the task's labels; field_map renames the columns to the fields.
// The fixture folder is made by scripts/make_hf_dataset.py (docs/tutorial_new_task.md).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

local root = std.extVar('MTDNN_DATA') + '/hf/rte';

local rte = tasks.rte {
  reader: {
    type: 'mtdnn_hf_dataset',
    field_map: { sentence1: 'premise', sentence2: 'hypothesis', idx: 'id' },
  },
  data:: { train: root + '/train', dev: root + '/validation' },
};

lib.experiment([rte], lr=5e-5, batch_size=16)
