// Student: the teacher's encoder cut to 2 layers (MiniLM-L6 keeps layers 0 and 3), initialised
// from the pretrained encoder's embeddings and those layers, trained on hard labels and the
// teachers' soft targets (MTDNN_SOFT_TARGETS).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local kd = import 'distillation.libsonnet';

kd.student(
  lib.experiment(kd.glue4(tasks)),
  encoder={ type: 'transformer_student', model_name: lib.env.encoder, num_layers: 2 },
)
