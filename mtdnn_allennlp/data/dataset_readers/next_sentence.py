"""BERT's next-sentence objective as a classification task: sentence pairs from raw text.

The file holds one sentence a line, documents separated by blank lines. Every sentence that has a
successor in its document gives one example: the sentence and its successor, labelled
`is_next`, or (with probability `negative_fraction`) the sentence and a random sentence of
another document, labelled `not_next`. The task is then a plain two-class classification task
(`premise_and_one_hypothesis`), so the classification head, loss and metrics do the rest. See
docs/next_sentence.md.
"""

import random
from pathlib import Path
from typing import Iterable, List, Tuple

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from mtdnn_allennlp.common.errors import DataError
from mtdnn_allennlp.common.registered_names import register
from mtdnn_allennlp.data.dataset_readers.task_reader import RawExample, TaskReader

IS_NEXT, NOT_NEXT = "is_next", "not_next"

Sentence = Tuple[int, str]  # (line, text)


@register(DatasetReader, "mtdnn_next_sentence_text", deprecated_name="next_sentence_text")
class NextSentenceReader(TaskReader):
    """Sentence pairs for the next-sentence objective (the module docstring has the layout).

    The pairs are drawn once per file from `pairing_seed` (and the task's name), so every epoch
    and every run with the same seed reads the same pairs, as BERT's pre-generated data did.

    # Parameters

    negative_fraction : `float`, optional (default = `0.5`)
        The share of examples whose second sentence is a random one of another document.
    pairing_seed : `int`, optional (default = `0`)
        Seeds which examples are negatives and which sentences they get.
    **kwargs
        `TaskReader`'s parameters. The task must be a `premise_and_one_hypothesis`
        classification task with the labels `not_next` and `is_next`.
    """

    CACHE_SETTINGS = ("negative_fraction", "pairing_seed")

    def __init__(self, negative_fraction: float = 0.5, pairing_seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        task = self.task
        if task.data_format != "premise_and_one_hypothesis" or set(task.labels or []) != {
            IS_NEXT,
            NOT_NEXT,
        }:
            raise ConfigurationError(
                f"Task '{task.name}': the next_sentence_text reader makes sentence pairs labelled "
                f"'{NOT_NEXT}' or '{IS_NEXT}': declare task_type 'classification', data_format "
                f"'premise_and_one_hypothesis' and labels ['{NOT_NEXT}', '{IS_NEXT}']."
            )
        if not 0.0 < negative_fraction < 1.0:
            raise ConfigurationError(
                f"Task '{task.name}': negative_fraction must be between 0 and 1 (exclusive), "
                f"not {negative_fraction}."
            )
        self.negative_fraction = negative_fraction
        self.pairing_seed = pairing_seed

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        documents = _documents(path)
        if len(documents) < 2:
            raise DataError(
                f"{len(documents)} document(s); not_next pairs need sentences of another one.",
                file=str(path),
                task=self.task.name,
                fix="separate the documents of the file by blank lines (one sentence a line)",
            )
        rng = random.Random(f"{self.pairing_seed}:{self.task.name}")
        for number, document in enumerate(documents):
            for (line, sentence), (_, following) in zip(document[:-1], document[1:], strict=True):
                if rng.random() < self.negative_fraction:
                    pick = rng.randrange(len(documents) - 1)  # any document but this one
                    other = documents[pick + (pick >= number)]
                    second, label = rng.choice(other)[1], NOT_NEXT
                else:
                    second, label = following, IS_NEXT
                fields = {"premise": sentence, "hypothesis": second, "label": label, "id": line}
                yield RawExample(line, fields)


def _documents(path: Path) -> List[List[Sentence]]:
    documents: List[List[Sentence]] = [[]]
    with open(path, encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if text.strip():
                documents[-1].append((line, text.strip()))
            elif documents[-1]:
                documents.append([])
    return [document for document in documents if document]
