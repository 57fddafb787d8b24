// Multi-task SMART adversarial training with 2 worker processes on CPU (gloo):
// distributed/mtdnn_2cpu.jsonnet plus the callback. The statistics (adv_loss...) are means over
// both workers' batches; the skipped-batch count is their sum (docs/adversarial.md).
local adv = import 'adversarial.libsonnet';

(import '../distributed/mtdnn_2cpu.jsonnet') + {
  trainer+: { callbacks+: [adv.callback()] },
}
