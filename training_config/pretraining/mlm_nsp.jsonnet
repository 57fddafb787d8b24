// BERT-style pre-training with both objectives: masked LM and next-sentence prediction, as two
// tasks of one multi-task run sharing a fresh encoder (each batch holds one task). Both read the
// same documents: one sentence a line, documents split by blank lines (docs/next_sentence.md).
// Export and fine-tune as for mlm.jsonnet.
local tasks = import '../tasks.libsonnet';
local lib = import '../experiment.libsonnet';

local mlm_on_documents = tasks.mlm { data:: tasks.nsp.data };

lib.experiment(
  [mlm_on_documents, tasks.nsp],
  lr=5e-4,
  batch_size=32,
  max_length=128,
  warmup_fraction=0.05,
  model_extra={
    encoder: {
      type: 'transformer_from_config',
      config: {
        model_type: 'bert',
        hidden_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 512,
        max_position_embeddings: 512,
      },
      tokenizer: lib.env.encoder,
    },
  },
)
