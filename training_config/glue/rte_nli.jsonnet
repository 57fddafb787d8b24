// RTE as the main task with all the NLI data the shared folder holds as auxiliary tasks: SNLI's
// dev and test files (19.6k pairs) and SciTail's (3.4k) as training sets, and QNLI's dev set
// (5.5k). There is no MNLI here, the paper's source of RTE's gain. Each auxiliary data set keeps
// its own head, as in MT-DNN.
//
// The auxiliary share is bounded as MT-DNN's `--ratio` does (the main_task_ratio sampler): each
// epoch has every RTE batch and `MTDNN_AUX_RATIO` (default 1) times as many auxiliary batches,
// drawn afresh each epoch from the pooled auxiliary batches. With ratio 1 the shared encoder
// gets twice RTE's updates per epoch: the equal-updates control is single-task RTE run for
// twice the epochs (docs/results.md, "Campaign").
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

local ratio = std.parseJson(std.extVar('MTDNN_AUX_RATIO'));
local both(task) = task + { data+:: { train: [task.data.train, task.data.dev] } };
local snli = both(tasks.snli);
local scitail = both(tasks.scitail);
local qnli = tasks.qnli + { data+:: { train: tasks.qnli.data.dev } };

lib.experiment(
  [tasks.rte, snli, scitail, qnli],
  eval_tasks=[tasks.rte],
  sampler={ type: 'main_task_ratio', main_task: 'rte', ratio: ratio },
)
