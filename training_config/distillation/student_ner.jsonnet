// Student for CoNLL-2003 NER: a one-layer BiLSTM over the teacher tokenizer's word pieces,
// trained on gold tags and the teachers' per-word tag distributions (MTDNN_SOFT_TARGETS, made by
// `allennlp soft-targets` from NER teachers, e.g. of training_config/ner/conll2003.jsonnet).
// Unset, MTDNN_SOFT_TARGETS falls back to fixtures/distillation/conll2003_soft_targets.jsonl.
// Its loss per batch: 0.5 * tag cross-entropy + 0.5 * per-word KL to the teachers' tags.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local kd = import 'distillation.libsonnet';

kd.student(
  lib.experiment([tasks.conll2003], lr=1e-3, max_length=256),
  encoder={ type: 'bilstm', vocab_from: lib.env.encoder, lstm_size: 256 },
  soft_targets=kd.soft_targets_or_fixture('conll2003_soft_targets.jsonl'),
)
