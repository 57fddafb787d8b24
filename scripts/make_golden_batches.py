"""Writes fixtures/golden/reader_batches.json: digests of the batches the readers make.

The readers of fixtures/configs/golden_task_types.jsonnet (one task of every task type and data
format) read each task's train and dev fixture, with two tokenizer families: the tiny BERT
(WordPiece, with segment ids) and a tiny RoBERTa (byte-level BPE saved without a prefix space, no
segment ids). The instances are indexed and batched in file order by allennlp's `Batch`,
eight at a time, and every tensor of every batch is hashed (its dtype, shape and bytes), with the
metadata as JSON. tests/data/test_golden_batches.py asserts the same digests, so a change of the
reading path (tokenisation, fields, the cache) shows that it changes no tensor, bit for bit.

Regenerate it only when a change of the instances is intended, and say why in the commit:
    python scripts/make_golden_batches.py
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from allennlp.common import Params  # noqa: E402
from allennlp.common.util import import_module_and_submodules  # noqa: E402
from allennlp.data import Batch, DatasetReader, Instance, Vocabulary  # noqa: E402

from mtdnn_allennlp.common.environment import environment_with_defaults  # noqa: E402

CONFIG = ROOT / "fixtures" / "configs" / "golden_task_types.jsonnet"
GOLDEN = ROOT / "fixtures" / "golden" / "reader_batches.json"
TINY_BERT = ROOT / "fixtures" / "tiny_bert"
# Built by scripts/make_tiny_encoders.py. Not DeBERTa-v2: its unigram tokenizer's training is not
# deterministic, so its pieces differ from one build to the next.
BUILT_FAMILIES = ("roberta",)
BATCH_SIZE = 8
SPLITS = ("train_data_path", "validation_data_path")


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    before = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def _experiment(encoder: str) -> Dict[str, Any]:
    variables = environment_with_defaults()
    variables.update(MTDNN_ENCODER=encoder, MTDNN_DATA=str(ROOT / "fixtures" / "data"))
    with _environment(**variables):
        return Params.from_file(str(CONFIG)).as_dict(quiet=True)


def digest_tensors(digest: Any, tensors: Any, prefix: str = "") -> None:
    """Adds every tensor of a (nested) tensor dict to `digest`: its key, dtype, shape, bytes;
    other values (metadata) as JSON."""
    if isinstance(tensors, dict):
        for key in sorted(tensors):
            digest_tensors(digest, tensors[key], f"{prefix}/{key}")
        return
    digest.update(prefix.encode("utf-8"))
    if isinstance(tensors, torch.Tensor):
        value = tensors.detach().contiguous()
        digest.update(f"{value.dtype} {tuple(value.shape)}".encode("ascii"))
        digest.update(value.numpy().tobytes())
    else:
        digest.update(json.dumps(tensors, sort_keys=True, default=repr).encode("utf-8"))


def batch_digests(encoder: str, cache_directory: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
    """`{task/split: {"instances": n, "sha256": digest of its batches}}` for one encoder."""
    experiment = _experiment(encoder)
    reader_params = dict(experiment["dataset_reader"])
    if cache_directory is not None:
        reader_params["cache_directory"] = cache_directory
    reader = DatasetReader.from_params(Params(reader_params))
    read: Dict[str, List[Instance]] = {}
    for split in SPLITS:
        for task, path in sorted(experiment[split].items()):
            read[f"{task}/{split.split('_')[0]}"] = list(reader.read_task(task, path))
    vocabulary = Vocabulary.from_instances(x for each in read.values() for x in each)
    digests = {}
    for name, instances in read.items():
        digest = hashlib.sha256()
        for start in range(0, len(instances), BATCH_SIZE):
            batch = Batch(instances[start : start + BATCH_SIZE])
            batch.index_instances(vocabulary)
            digest_tensors(digest, batch.as_tensor_dict())
        digests[name] = {"instances": len(instances), "sha256": digest.hexdigest()}
    return digests


def encoders(folder: Path) -> Dict[str, str]:
    """The encoders of the golden batches, the built ones under `folder`."""
    from scripts.make_tiny_encoders import build

    built = build(list(BUILT_FAMILIES), folder)
    return {"bert": str(TINY_BERT), **{family: str(built[family]) for family in BUILT_FAMILIES}}


def golden_batches(folder: Path) -> Dict[str, Dict[str, Dict[str, Any]]]:
    import_module_and_submodules("mtdnn_allennlp")
    with _environment(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false"):
        return {name: batch_digests(path) for name, path in encoders(folder).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(GOLDEN))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        digests = golden_batches(Path(folder))
    Path(args.output).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    count = sum(len(each) for each in digests.values())
    print(f"wrote {args.output}: {count} task files over {len(digests)} encoders")


if __name__ == "__main__":
    main()
