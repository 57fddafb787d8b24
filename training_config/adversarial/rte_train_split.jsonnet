// SMART on RTE with the dev set kept out of the choice of settings: RTE's training file split
// into 2,000 pairs to train on and the 490 it leaves out to validate on (one fixed split for
// every seed, sample_seed 0; the task reader's sample_held_out). scripts/results.py's
// smart_sweep group varies the callback's settings here (allennlp -o on trainer.callbacks.3);
// the setting with the best held-out accuracy is then run on the whole train file and scored
// on dev (docs/results.md, "smart_full").
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

local train = tasks.rte.data.train;
// A smoke run (MTDNN_SMOKE=1, e.g. on the fixtures' 64 pairs) splits off 8 pairs to train on.
local split = { path: train, sample: if lib.env.smoke then 8 else 2000, sample_seed: 0 };
local rte = tasks.rte + { data:: tasks.rte.data + { train: split, dev: split + { held_out: true } } };

lib.experiment([rte], callbacks=[adv.callback()])
