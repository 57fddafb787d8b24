// Single-task MNLI (3-way NLI), MT-DNN's fine-tuning recipe (lr 5e-5, batch 16, 10% warm-up).
// Validated on dev_matched. Validation holds one dev file per task, so the mismatched dev set is
// scored after training on the archive (docs/glue_configs.md), e.g. on the fixtures:
//   allennlp evaluate RUN/model.tar.gz '{"mnli": "fixtures/data/glue/MNLI/dev_mismatched.tsv"}' \
//     --include-package mtdnn_allennlp
// The shared data has no MNLI: set MTDNN_DATA to a GLUE folder that holds MNLI/.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

lib.experiment([tasks.mnli])
