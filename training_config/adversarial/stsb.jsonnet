// Single-task STS-B (regression: MSE between clean and perturbed scores) with SMART.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';
local adv = import 'adversarial.libsonnet';

lib.experiment([tasks.stsb], callbacks=[adv.callback()])
