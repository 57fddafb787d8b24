// The distillation stage with SMART adversarial training: the 2-layer transformer student of
// distillation/student_small_transformer.jsonnet (hard labels + the teachers' soft targets from
// MTDNN_SOFT_TARGETS), plus the callback, which adds its term to that KD loss:
// loss = loss_weight * (hard * gold loss + soft * kd_loss) + adv_alpha * loss_weight * adv_loss.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local kd = import '../distillation/distillation.libsonnet';
local adv = import 'adversarial.libsonnet';

kd.student(
  lib.experiment(kd.glue4(tasks), callbacks=[adv.callback()]),
  encoder={ type: 'transformer_student', model_name: lib.env.encoder, num_layers: 2 },
)
