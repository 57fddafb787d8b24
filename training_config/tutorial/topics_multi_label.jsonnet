// docs/tutorial_new_task.md, "Multi-label classification": a text may have any number of the
// labels (here, none to three topics). One sigmoid per label, binary cross-entropy; a label is
// predicted when its probability is at least the threshold. Run from the project root.
local lib = import '../experiment.libsonnet';

local topics = {
  name: 'topics',
  task_type: { type: 'multi_label_classification', threshold: 0.5 },
  data_format: 'premise_only',
  labels: ['sports', 'politics', 'technology', 'health'],
  // micro_f1 and macro_f1 by default; each label's F1 is reported beside them (f1_<label>).
  reader: {
    type: 'mtdnn_jsonl',  // {"id": ..., "text": ..., "label": ["sports", "health"]}
    field_map: { text: 'premise' },
  },
  data:: {
    train: 'fixtures/tutorial/topics/train.jsonl',
    dev: 'fixtures/tutorial/topics/dev.jsonl',
  },
};

lib.experiment([topics], epochs=10, batch_size=8, lr=1e-4)
