"""Texts for masked language modelling: a raw text file, or the texts of other tasks' files.

The reader only encodes the texts. Which word pieces are masked is decided by the masked-LM head
for every batch (dynamic masking, as RoBERTa does), so an epoch never sees the same masks twice
and the cached instances stay valid across epochs.
"""

import json
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance
from allennlp.data.fields import MetadataField

from mtdnn_allennlp.common.registered_names import register
from mtdnn_allennlp.data.dataset_readers.task_reader import RawExample, TaskReader
from mtdnn_allennlp.tasks import TaskDefinition
from mtdnn_allennlp.tasks.types.masked_lm import TextMetadata


@register(DatasetReader, "mtdnn_masked_lm_text", deprecated_name="masked_lm_text")
class MaskedLmTextReader(TaskReader):
    """Texts for a `masked_lm` task.

    Without `sources`, the data file is raw text: one document or sentence per line, blank lines
    skipped. With `sources`, the data path is a JSON mapping `{source task: file}` (or one file
    when there is one source) and each file is read with that task's own layout; every example's
    texts become one masked-LM example (a pair stays a pair, words are joined by spaces). Labels
    are ignored, so test files serve as well as training files.

    # Parameters

    sources : `Dict[str, TaskDefinition]`, optional
        The tasks whose files supply the texts, by name (their definitions from tasks.libsonnet).
    **kwargs
        `TaskReader`'s parameters.
    """

    def __init__(self, sources: Optional[Dict[str, TaskDefinition]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.task.data_format != "text":
            raise ConfigurationError(
                f"Task '{self.task.name}': the masked_lm_text reader reads 'text' tasks, not "
                f"'{self.task.data_format}'."
            )
        self.sources: Dict[str, TaskReader] = {}
        self._source: Optional[str] = None  # the source task whose file is being read
        for name, source in (sources or {}).items():
            # The source's own layout reader, sharing this reader's encoder settings; it only
            # splits lines, so its labels and length limit do not matter.
            reader = DatasetReader.from_params(
                Params(deepcopy(source.reader)), task=source, encoder=self.encoder_name
            )
            if not isinstance(reader, TaskReader):
                raise ConfigurationError(f"Source task '{name}' has no task reader.")
            self.sources[name] = reader

    def cache_settings(self) -> Dict[str, Any]:
        """With sources, a file's instances depend on the source task being read and on its
        reader's settings (its layout): those, not the reader objects, whose reprs hold memory
        addresses and so would never match in another process."""
        settings = super().cache_settings()
        if self._source is not None:
            settings["source"] = [self._source, self.sources[self._source].cache_settings()]
        return settings

    def _read(self, file_path: Any) -> Iterable[Instance]:
        if not self.sources:
            yield from super()._read(file_path)
            return
        for source, path in self._source_paths(file_path).items():
            self._source = source
            yield from super()._read(path)

    def _source_paths(self, file_path: Any) -> Dict[str, str]:
        if isinstance(file_path, str) and file_path.lstrip().startswith("{"):
            file_path = json.loads(file_path)
        if isinstance(file_path, dict):
            unknown = sorted(set(file_path) - set(self.sources))
            if unknown:
                raise ConfigurationError(
                    f"Task '{self.task.name}': data path names tasks {unknown} that are not "
                    f"among its sources {sorted(self.sources)}."
                )
            return dict(file_path)
        if len(self.sources) != 1:
            raise ConfigurationError(
                f"Task '{self.task.name}' reads the texts of {sorted(self.sources)}: give its data "
                'path as a JSON mapping {"task": "file", ...}.'
            )
        return {next(iter(self.sources)): str(file_path)}

    def raw_examples(self, path: Path) -> Iterable[RawExample]:
        if not self.sources:
            with open(path, encoding="utf-8") as handle:
                for line, text in enumerate(handle, start=1):
                    if text.strip():
                        yield RawExample(line, {"text": text.strip(), "id": line})
            return
        for example in self.sources[self._source].raw_examples(path):
            if example.error is not None:
                yield example
                continue
            fields = example.fields
            if "words" in fields:
                texts: List[Any] = [" ".join(fields["words"] or [])]
            else:
                texts = [fields.get("premise"), fields.get("hypothesis")]
            texts = [text for text in texts if isinstance(text, str) and text.strip()]
            if not texts:
                yield self._bad_row(path, example.line, "the example has no text.", "fix the row")
                continue
            text_pair = texts[1] if len(texts) > 1 else None
            yield RawExample(
                example.line,
                {"text": texts[0], "text_pair": text_pair, "id": f"{self._source}:{example.line}"},
            )

    def request_pieces(self, example: RawExample) -> None:
        self.pieces.request_texts(example.fields.get("text"), example.fields.get("text_pair"))

    def text_to_instance(  # type: ignore[override]
        self,
        text: Optional[str] = None,
        text_pair: Optional[str] = None,
        id: Optional[Any] = None,
        line: Optional[int] = None,
    ) -> Instance:
        text = self._checked_text(text, "text")
        if text_pair is not None and not text_pair.strip():
            text_pair = None
        encoded = self.pieces.encode_texts(text, text_pair)
        self.truncated += encoded.truncated
        metadata = TextMetadata(id=id if id is not None else line, task=self.task.name, text=text)
        return Instance(
            {
                "tokens": self.pieces_field(encoded.ids, encoded.type_ids),
                "task": MetadataField(self.task.name),
                "metadata": MetadataField(metadata),
            }
        )
