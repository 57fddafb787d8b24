// docs/tutorial_new_task.md: a new task declared in its own config, with no Python.
// A made-up 3-class task: which team a customer-support message is for. Run from the project
// root (the data paths are relative to it).
local lib = import '../experiment.libsonnet';

local intent = {
  name: 'intent',
  task_type: 'classification',
  data_format: 'premise_only',  // one text per example, read as `premise`
  labels: ['billing', 'technical', 'account'],
  metrics: ['accuracy', 'macro_f1'],
  reader: {
    type: 'mtdnn_glue_tsv',  // a TSV file with a header row
    columns: { id: 'id', premise: 'text', label: 'label' },
  },
  // `::` keeps the paths out of the archived model config; the experiment reads them.
  data:: {
    train: 'fixtures/tutorial/intent/train.tsv',
    dev: 'fixtures/tutorial/intent/dev.tsv',
  },
};

lib.experiment([intent], epochs=10, batch_size=8)
