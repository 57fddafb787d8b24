// Masked-LM pre-training from scratch: a fresh BERT-style encoder, shaped by the transformers
// config below, learns from raw text (one document or sentence per line; BERT's dynamic
// masking, 15% of word pieces, 80/10/10). The tokenizer is MTDNN_ENCODER's.
// Afterwards: allennlp export-encoder <run>/model.tar.gz <folder> --include-package mtdnn_allennlp
// and fine-tune any config from it with MTDNN_ENCODER=<folder> (docs/pretraining_and_qa.md).
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

// A small encoder that pre-trains in minutes on a CPU.
local encoder_config = {
  model_type: 'bert',
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 512,
  max_position_embeddings: 512,
};

lib.experiment(
  [tasks.mlm],
  lr=5e-4,
  batch_size=32,
  max_length=128,
  warmup_fraction=0.05,
  model_extra={
    encoder: {
      type: 'transformer_from_config',
      config: encoder_config,
      tokenizer: lib.env.encoder,
    },
  },
)
