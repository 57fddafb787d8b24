from mtdnn_allennlp.data.dataset_readers.hf_datasets import HfDatasetReader
from mtdnn_allennlp.data.dataset_readers.layouts import (
    ConllIobReader,
    GlueTsvReader,
    JsonlReader,
    SnliParallelReader,
)
from mtdnn_allennlp.data.dataset_readers.masked_lm import MaskedLmTextReader
from mtdnn_allennlp.data.dataset_readers.mtdnn_layouts import (
    GroupedPairsTsvReader,
    MtdnnTsvReader,
)
from mtdnn_allennlp.data.dataset_readers.multitask import MultiTaskReader
from mtdnn_allennlp.data.dataset_readers.next_sentence import NextSentenceReader
from mtdnn_allennlp.data.dataset_readers.squad import SquadReader
from mtdnn_allennlp.data.dataset_readers.task_reader import TaskReader

__all__ = [
    "ConllIobReader",
    "GlueTsvReader",
    "GroupedPairsTsvReader",
    "HfDatasetReader",
    "MtdnnTsvReader",
    "JsonlReader",
    "MaskedLmTextReader",
    "MultiTaskReader",
    "NextSentenceReader",
    "SnliParallelReader",
    "SquadReader",
    "TaskReader",
]
