// Builds a complete allennlp experiment from a list of task definitions (tasks.libsonnet).
//
// Environment (all optional; defaults come from mtdnn_allennlp.common.environment):
//   MTDNN_DATA     data root (default: fixtures/data; real data: ../shared/data)
//   MTDNN_ENCODER  encoder name or local folder (default: all-MiniLM-L6-v2)
//   MTDNN_SEED     seed for python, numpy and torch (default: 2018)
//   MTDNN_EPOCHS   epochs (default: 3)
//   MTDNN_SMOKE=1  a quick check: 16 examples per file, one epoch
//   MTDNN_TRAIN_EXAMPLES  train on a seeded random subset of N examples per task (0: all)
//   MTDNN_CACHE    keep tokenised data files in this folder between runs ('': off)
//   MTDNN_DEV_EXAMPLES   validate on a seeded random subset of N dev examples per task (0: all)
//   MTDNN_TEST_EXAMPLES  after training, evaluate on N test examples per task with a labelled
//                        test split ('all': the whole files; 0: no test evaluation)
//   MTDNN_DEVICE   auto (default: the GPU if torch sees one, else the CPU), cpu, a CUDA index, or
//                  indices such as 0,1 for distributed training (docs/gpu.md)
//   MTDNN_PRECISION  fp32 (default), fp16 (allennlp's use_amp; CUDA only) or bf16 (encoder
//                  under bfloat16 autocast)
local env = {
  encoder: std.extVar('MTDNN_ENCODER'),
  smoke: std.extVar('MTDNN_SMOKE') == '1',
  seed: std.parseInt(std.extVar('MTDNN_SEED')),
  epochs: std.parseInt(std.extVar('MTDNN_EPOCHS')),
  train_examples: std.parseInt(std.extVar('MTDNN_TRAIN_EXAMPLES')),
  cache: std.extVar('MTDNN_CACHE'),
  dev_examples: std.parseInt(std.extVar('MTDNN_DEV_EXAMPLES')),
  test_examples: std.extVar('MTDNN_TEST_EXAMPLES'),
  // Chosen from MTDNN_DEVICE in Python (mtdnn_allennlp/training/device.py): CUDA indices, -1
  // for the CPU, one per worker.
  devices: std.map(std.parseInt, std.split(std.extVar('MTDNN_DEVICE_CHOICE'), ',')),
  device_reason: std.extVar('MTDNN_DEVICE_REASON'),
  precision: std.extVar('MTDNN_PRECISION'),
};

// A data file, or a seeded sample of it (a data file object, see MultiTaskReader).
local sampled(path, size) = if size > 0 then { path: path, sample: size, sample_seed: env.seed }
else path;

local precisions = ['fp32', 'fp16', 'bf16'];
assert std.member(precisions, env.precision) :
       'MTDNN_PRECISION is "%s"; use one of %s' % [env.precision, std.join(', ', precisions)];
assert env.precision != 'fp16' || std.length([d for d in env.devices if d < 0]) == 0 :
       'MTDNN_PRECISION=fp16 needs CUDA (allennlp use_amp), but the device is the CPU (%s); '
       % env.device_reason + 'use MTDNN_PRECISION=bf16 on the CPU';

local has(object, key) = std.objectHasAll(object, key);

{
  env: env,

  // The encoder settings MTDNN_PRECISION adds to any shared encoder (students included).
  precision_encoder:: if env.precision == 'bf16' then { autocast_dtype: 'bfloat16' } else {},

  // tasks: the tasks to train together. eval_tasks: those validated each epoch (default: every
  // task with a dev split). The remaining arguments are the usual hyper-parameters.
  experiment(
    tasks,
    eval_tasks=null,
    lr=5e-5,
    batch_size=16,
    eval_batch_size=64,
    epochs=env.epochs,
    max_length=128,
    sampler={ type: 'proportional' },
    warmup_fraction=0.1,
    weight_decay=0.01,
    grad_norm=1.0,
    callbacks=[],
    reader_extra={},
    model_extra={},
    trainer_extra={},
  )::
    local validated = if eval_tasks == null then [t for t in tasks if has(t.data, 'dev')]
    else eval_tasks;
    local tested = if env.test_examples == '0' then []
    else [t for t in tasks if has(t.data, 'labelled_test') && t.data.labelled_test];
    local test_size = if env.test_examples == 'all' then 0 else std.parseInt(env.test_examples);
    {
    random_seed: env.seed,
    numpy_seed: env.seed,
    pytorch_seed: env.seed,
    local reader = {
      type: 'mtdnn_multitask',
      tasks: tasks,
      encoder: env.encoder,
      max_length: max_length,
      [if env.smoke then 'max_instances_per_task']: 16,
      [if env.cache != '' then 'cache_directory']: env.cache,
    } + reader_extra,
    dataset_reader: reader + (
      if env.train_examples > 0
      then { sample_per_task: env.train_examples, sample_seed: env.seed }
      else {}
    ),
    // Validation, `allennlp evaluate` and the predictor read whole files.
    validation_dataset_reader: reader,
    train_data_path: { [t.name]: t.data.train for t in tasks },
    [if std.length(validated) > 0 then 'validation_data_path']: {
      [t.name]: sampled(t.data.dev, env.dev_examples)
      for t in validated
    },
    [if std.length(tested) > 0 then 'test_data_path']: {
      [t.name]: sampled(t.data.test, test_size)
      for t in tested
    },
    [if std.length(tested) > 0 then 'evaluate_on_test']: true,
    // Labels come from the task definitions and word pieces from the encoder's tokenizer, so
    // there is nothing to count.
    vocabulary: { type: 'empty' },
    model: {
      type: 'mtdnn',
      encoder: { type: 'transformer', model_name: env.encoder } + $.precision_encoder,
      tasks: tasks,
    } + model_extra,
    data_loader: {
      type: 'mtdnn_multitask',
      batch_size: batch_size,
      sampler: sampler,
      seed: env.seed,
    },
    validation_data_loader: {
      type: 'mtdnn_multitask',
      batch_size: eval_batch_size,
      shuffle: false,
    },
    trainer: {
      num_epochs: if env.smoke then 1 else epochs,
      [if std.length(validated) > 0 then 'validation_metric']: '+average',
      [if std.length(env.devices) == 1 then 'cuda_device']: env.devices[0],
      [if env.precision == 'fp16' then 'use_amp']: true,
      grad_norm: grad_norm,
      optimizer: {
        type: 'huggingface_adamw',
        lr: lr,
        weight_decay: weight_decay,
        parameter_groups: [[['bias', 'LayerNorm\\.weight'], { weight_decay: 0 }]],
      },
      learning_rate_scheduler: {
        type: 'mtdnn_linear_with_warmup_fraction',
        warmup_fraction: warmup_fraction,
      },
      // allennlp's default console logger dumps the first batch's tensors; this one does not,
      // and adds one line per task per epoch. TensorBoard also gets the learning rate.
      enable_default_callbacks: false,
      callbacks: [
        { type: 'mtdnn_console_logger' },
        { type: 'mtdnn_tensorboard' },
        { type: 'mtdnn_device_log', reason: env.device_reason },
      ] + callbacks,
    } + trainer_extra,
    // Several devices: one worker each. A batch holds one task, so the other tasks' heads get
    // no gradient in that step: DDP must expect parameters that took no part in the forward.
    [if std.length(env.devices) > 1 then 'distributed']: {
      cuda_devices: env.devices,
      ddp_accelerator: { type: 'torch', find_unused_parameters: true },
    },
  },
}
