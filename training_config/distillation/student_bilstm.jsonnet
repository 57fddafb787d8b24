// Student: a one-layer BiLSTM over the teacher tokenizer's word pieces, its embeddings copied
// from the teacher's, trained on hard labels and the teachers' soft targets (MTDNN_SOFT_TARGETS).
// An LSTM learns more slowly than a pretrained transformer: a larger learning rate.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local kd = import 'distillation.libsonnet';

kd.student(
  lib.experiment(kd.glue4(tasks), lr=1e-3),
  encoder={ type: 'bilstm', vocab_from: lib.env.encoder, lstm_size: 256 },
)
