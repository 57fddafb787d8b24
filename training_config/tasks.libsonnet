// The task library: each task declared once, with MT-DNN's task-definition keys.
// Readers, heads, losses, metrics and the predictor all read these declarations.
// Data paths are built from MTDNN_DATA (default: the fixtures; real data: ../shared/data).
local data = if std.extVar('MTDNN_DATA') != '' then std.extVar('MTDNN_DATA') else error
  'MTDNN_DATA is not set: set it to the folder holding glue/, nli/, ner/ (e.g. ../shared/data)';

local glue_pair(first, second, extra={}) = {
  type: 'mtdnn_glue_tsv',
  columns: { premise: first, hypothesis: second, label: 'label', id: 'index' },
} + extra;

local splits(folder, train='train.tsv', dev='dev.tsv', test='test.tsv') = {
  train: data + '/' + folder + '/' + train,
  dev: data + '/' + folder + '/' + dev,
  test: data + '/' + folder + '/' + test,
};

local nli_labels2 = ['entailment', 'not_entailment'];

local task(name, spec) = { name: name } + spec;

local bioner(name, folder, entity) = task(name, {
  task_type: 'sequence_labeling',
  data_format: 'sequence',
  labels: ['O', 'B-' + entity, 'I-' + entity],
  metrics: ['span_f1', 'span_precision', 'span_recall'],
  dropout: 0.3,
  reader: { type: 'mtdnn_conll_iob', token_column: 0, tag_column: 1 },
  data:: splits('ner/BioNER/' + folder, train='train.tsv', dev='devel.tsv', test='test.tsv') + {
    labelled_test: true,
  },
});

{
  // --- GLUE ---------------------------------------------------------------------------------
  cola: task('cola', {
    task_type: 'classification',
    data_format: 'premise_only',
    labels: ['0', '1'],
    metrics: ['mcc', 'accuracy'],
    dropout: 0.05,
    // train and dev have no header; the test file has one (index, sentence). Column 0 of train
    // and dev is the sentence's source (e.g. 'gj04'), shared by many sentences, so it is not an
    // id: their ids are line numbers (soft targets and predictions are joined by id).
    reader: {
      type: 'mtdnn_glue_tsv',
      header: false,
      columns: { label: 1, premise: 3 },
      unlabelled_header: ['index', 'sentence'],
    },
    data:: splits('glue/CoLA'),
  }),
  sst2: task('sst2', {
    task_type: 'classification',
    data_format: 'premise_only',
    labels: ['negative', 'positive'],
    metrics: ['accuracy'],
    reader: {
      type: 'mtdnn_glue_tsv',
      columns: { premise: 'sentence', label: 'label', id: 'index' },
      label_map: { '0': 'negative', '1': 'positive' },
    },
    data:: splits('glue/SST-2'),
  }),
  mrpc: task('mrpc', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: ['not_paraphrase', 'paraphrase'],
    metrics: ['accuracy', 'f1'],
    // MRPC's header starts with a UTF-8 byte-order mark; the reader drops it.
    reader: {
      type: 'mtdnn_glue_tsv',
      columns: { premise: '#1 String', hypothesis: '#2 String', label: 'Quality', id: 'index' },
      label_map: { '0': 'not_paraphrase', '1': 'paraphrase' },
    },
    data:: splits('glue/MRPC'),
  }),
  stsb: task('stsb', {
    task_type: 'regression',
    data_format: 'premise_and_one_hypothesis',
    metrics: ['pearson', 'spearman'],
    // Ten columns; the score is the last.
    reader: glue_pair('sentence1', 'sentence2', {
      columns: { premise: 'sentence1', hypothesis: 'sentence2', label: 'score', id: 'index' },
    }),
    // The STS benchmark's gold test file (sts-test.csv): no header, genre, file, year, id,
    // score, then the two sentences. allennlp evaluate ARCHIVE
    //   '{"stsb": {"path": ".../sts-test.csv", "layout": "gold_test"}}'
    layouts: {
      gold_test: { header: false, columns: { id: 3, label: 4, premise: 5, hypothesis: 6 } },
    },
    data:: splits('glue/STS-B'),
  }),
  qqp: task('qqp', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: ['not_duplicate', 'duplicate'],
    metrics: ['accuracy', 'f1'],
    reader: {
      type: 'mtdnn_glue_tsv',
      columns: { premise: 'question1', hypothesis: 'question2', label: 'is_duplicate', id: 'id' },
      label_map: { '0': 'not_duplicate', '1': 'duplicate' },
    },
    data:: splits('glue/QQP'),
  }),
  mnli: task('mnli', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: ['contradiction', 'neutral', 'entailment'],
    metrics: ['accuracy'],
    reader: {
      type: 'mtdnn_glue_tsv',
      columns: { premise: 'sentence1', hypothesis: 'sentence2', label: 'gold_label', id: 'index' },
    },
    // One dev split per task is validated (matched); evaluate an archive on the mismatched one
    // with `allennlp evaluate ARCHIVE '{"mnli": ".../dev_mismatched.tsv"}'`.
    data:: splits('glue/MNLI', dev='dev_matched.tsv', test='test_matched.tsv') + {
      dev_mismatched: data + '/glue/MNLI/dev_mismatched.tsv',
    },
  }),
  qnli: task('qnli', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: nli_labels2,
    metrics: ['accuracy'],
    reader: glue_pair('question', 'sentence'),
    data:: splits('glue/QNLI'),
  }),
  // QNLI as MT-DNN's pairwise ranking: the rows of a question are grouped into one example
  // (its candidate sentences, the answering one labelled). QNLI's train file is not in the
  // shared data, so the dev file's 1362 two-or-more-candidate questions are the training data
  // and there is no labelled held-out split: evaluate on other data.
  qnli_ranking: task('qnli_ranking', {
    task_type: 'ranking',
    data_format: 'premise_and_multi_hypothesis',
    metrics: ['accuracy', 'mrr'],
    reader: {
      type: 'mtdnn_grouped_pairs_tsv',
      columns: { premise: 'question', hypothesis: 'sentence', label: 'label', id: 'index' },
      positive_label: 'entailment',
    },
    data:: { train: data + '/glue/QNLI/dev.tsv' },
  }),
  rte: task('rte', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: nli_labels2,
    metrics: ['accuracy'],
    reader: glue_pair('sentence1', 'sentence2'),
    data:: splits('glue/RTE'),
  }),
  wnli: task('wnli', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: ['not_entailment', 'entailment'],
    metrics: ['accuracy'],
    reader: glue_pair('sentence1', 'sentence2', {
      label_map: { '0': 'not_entailment', '1': 'entailment' },
    }),
    data:: splits('glue/WNLI'),
  }),

  // --- question classification ----------------------------------------------------------
  // TREC (Li and Roth 2002): one question a line, `COARSE:fine question`, in Latin-1. The
  // coarse class is the label; the fine one is left out. The fixtures hold a hand-written sample
  // in the same format (docs/tutorial_new_task.md).
  trec: task('trec', {
    task_type: 'classification',
    data_format: 'premise_only',
    labels: ['ABBR', 'DESC', 'ENTY', 'HUM', 'LOC', 'NUM'],
    metrics: ['accuracy'],
    reader: {
      type: 'mtdnn_regex',
      pattern: '(?P<label>[A-Z]+):\\S+ (?P<premise>.+)',
      encoding: 'latin-1',
    },
    data:: { train: data + '/trec/train_5500.label', dev: data + '/trec/TREC_10.label' },
  }),

  // --- NLI and domain adaptation ----------------------------------------------------------
  snli: task('snli', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: ['contradiction', 'neutral', 'entailment'],
    metrics: ['accuracy'],
    reader: { type: 'mtdnn_snli_parallel' },
    // No SNLI train here: dev (9842 pairs) stands in for training, test for evaluation.
    data:: { train: data + '/nli/SNLI/s1.dev', dev: data + '/nli/SNLI/s1.test' },
  }),
  scitail: task('scitail', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: ['entails', 'neutral'],
    metrics: ['accuracy'],
    reader: {
      type: 'mtdnn_glue_tsv',
      header: false,
      columns: { premise: 0, hypothesis: 1, label: 2 },
      label_map: { '0': 'entails', '1': 'neutral' },
    },
    // No SciTail train here: dev stands in for training, test for evaluation.
    data:: { train: data + '/nli/SciTail/dev.txt', dev: data + '/nli/SciTail/test.txt' },
  }),

  // --- NER ----------------------------------------------------------------------------------
  conll2003: task('conll2003', {
    task_type: 'sequence_labeling',
    data_format: 'sequence',
    labels: ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'],
    metrics: ['span_f1', 'span_precision', 'span_recall'],
    dropout: 0.3,
    reader: { type: 'mtdnn_conll_iob', token_column: 0, tag_column: 3 },
    data:: {
      train: data + '/ner/CoNLL2003/train.txt',
      dev: data + '/ner/CoNLL2003/valid.txt',
      test: data + '/ner/CoNLL2003/test.txt',
      labelled_test: true,
    },
  }),

  // --- biomedical NER (Crichton et al. 2017): token<TAB>tag, IOB ------------------------------
  // A BioNER set in the Crichton et al. layout, e.g. bioner('bc2gm', 'BC2GM-IOB', 'GENE').
  bioner(name, folder, entity):: bioner(name, folder, entity),
  ncbi_disease: bioner('ncbi_disease', 'NCBI-disease-IOB', 'Disease'),
  bc5cdr_chem: bioner('bc5cdr_chem', 'BC5CDR-chem-IOB', 'Chemical'),
  bc5cdr_disease: bioner('bc5cdr_disease', 'BC5CDR-disease-IOB', 'Disease'),

  // --- masked LM and extractive QA (docs/pretraining_and_qa.md) ------------------------------
  // Raw text, one document or sentence per line.
  mlm: task('mlm', {
    task_type: 'masked_lm',
    data_format: 'text',
    reader: { type: 'mtdnn_masked_lm_text' },
    data:: { train: data + '/text/train.txt', dev: data + '/text/dev.txt' },
  }),
  // BERT's next-sentence objective: (sentence, next sentence) or (sentence, random sentence of
  // another document) pairs from text with one sentence a line and documents split by blank
  // lines (docs/next_sentence.md). A two-class classification task.
  nsp: task('nsp', {
    task_type: 'classification',
    data_format: 'premise_and_one_hypothesis',
    labels: ['not_next', 'is_next'],
    metrics: ['accuracy'],
    reader: { type: 'mtdnn_next_sentence_text', negative_fraction: 0.5 },
    data:: {
      train: data + '/text/documents_train.txt',
      dev: data + '/text/documents_dev.txt',
    },
  }),
  // Masked LM over the training texts of other tasks, as an auxiliary task. Train it with a
  // sampler weight (see training_config/pretraining/rte_aux_mlm.jsonnet) and a loss_weight.
  aux_mlm(sources, name='aux_mlm', loss_weight=1.0):: task(name, {
    task_type: 'masked_lm',
    data_format: 'text',
    loss_weight: loss_weight,
    reader: { type: 'mtdnn_masked_lm_text', sources: { [t.name]: t for t in sources } },
    data:: { train: std.manifestJsonMinified({ [t.name]: t.data.train for t in sources }) },
  }),
  // --- multiple choice and cloze (docs/multiple_choice.md) ---------------------------------
  // A context and/or question and N candidate answers, one right (SWAG/ARC/COPA style). The
  // fixtures hold small hand-written sets; point MTDNN_DATA at a folder with the same files
  // for real data. Scored like ranking: one score per (context, choice) pair, softmax.
  everyday_mc: task('everyday_mc', {
    task_type: 'ranking',
    data_format: 'multiple_choice',
    metrics: ['accuracy', 'mrr'],
    reader: { type: 'mtdnn_jsonl' },
    data:: {
      train: data + '/multiple_choice/train.jsonl',
      dev: data + '/multiple_choice/dev.jsonl',
    },
  }),
  // Cloze: each candidate filler is put in place of the '_' blank before scoring.
  everyday_cloze: task('everyday_cloze', {
    task_type: 'ranking',
    data_format: 'multiple_choice',
    reader: { type: 'mtdnn_jsonl', blank: '_' },
    data:: {
      train: data + '/multiple_choice/cloze_train.jsonl',
      dev: data + '/multiple_choice/cloze_dev.jsonl',
    },
  }),
  squad_v1: task('squad_v1', {
    task_type: 'span_extraction',
    data_format: 'question_and_context',
    reader: { type: 'mtdnn_squad_json', doc_stride: 128, max_query_length: 64 },
    data:: { train: data + '/squad/train-v1.1.json', dev: data + '/squad/dev-v1.1.json' },
  }),
  squad_v2: task('squad_v2', {
    task_type: 'span_extraction',
    data_format: 'question_and_context',
    head: { no_answer: true },
    reader: { type: 'mtdnn_squad_json', doc_stride: 128, max_query_length: 64 },
    data:: { train: data + '/squad/train-v2.0.json', dev: data + '/squad/dev-v2.0.json' },
  }),
}
