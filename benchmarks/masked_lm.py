"""Masked-LM training step: scoring only the masked pieces against every position.

The model scores the ~15% masked pieces alone (MultiTaskModel._predicts_masked_pieces_only);
before, the head projected every position onto the 30522-piece vocabulary and the loss ignored
all but the masked ones. Both give the same loss (tests/models/test_masked_lm.py); this times a
training step (forward + backward) of each on the same batches, taking turns.

Batches: RTE training pairs (MTDNN_DATA), batch 16, up to 128 pieces, the MiniLM encoder.

    MTDNN_DATA=../shared/data python benchmarks/masked_lm.py --quick
"""

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

common.setup_environment()

import torch  # noqa: E402
from allennlp.common.util import import_module_and_submodules  # noqa: E402
from allennlp.data import Vocabulary  # noqa: E402

from benchmarks.bare import tokenize_batch  # noqa: E402
from benchmarks.workloads import ENCODER  # noqa: E402
from mtdnn_allennlp.data.tokenization import load_tokenizer  # noqa: E402
from mtdnn_allennlp.models.multitask_model import MultiTaskModel  # noqa: E402
from mtdnn_allennlp.modules.shared_encoder import TransformerEncoder  # noqa: E402
from mtdnn_allennlp.tasks import TaskDefinition  # noqa: E402

import_module_and_submodules("mtdnn_allennlp")


def rte_batches(count: int, size: int = 16, max_length: int = 128):
    path = common.data_root() / "glue" / "RTE" / "train.tsv"
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    tokenizer = load_tokenizer(ENCODER)
    batches = []
    for start in range(0, count * size, size):
        chunk = [
            {"premise": row["sentence1"], "hypothesis": row["sentence2"]}
            for row in rows[start : start + size]
        ]
        encoded = tokenize_batch(tokenizer, chunk, max_length)
        batches.append(
            {
                "tokens": {
                    "tokens": {
                        "token_ids": encoded["input_ids"],
                        "mask": encoded["attention_mask"].bool(),
                        "type_ids": encoded["token_type_ids"],
                    }
                },
                "task": ["mlm"] * len(chunk),
                "label": torch.zeros(len(chunk)),
            }
        )
    return batches


def main() -> None:
    args = common.parse(__doc__)
    repeats = args.repeats or (3 if args.quick else 6)
    batches = rte_batches(2 if args.quick else 6)
    task = TaskDefinition(name="mlm", task_type="masked_lm", data_format="text", reader={})
    model = MultiTaskModel(Vocabulary(), TransformerEncoder(ENCODER), [task])
    batches = common.on_benchmark_device(model, batches)
    model.train()
    masked_only = model._predicts_masked_pieces_only

    def epoch(every_position: bool):
        def run() -> None:
            # The switch the model reads; the same weights and batches for both.
            model._predicts_masked_pieces_only = (
                (lambda *_: False) if every_position else masked_only
            )
            for batch in batches:
                model.zero_grad(set_to_none=True)
                model(**batch)["loss"].backward()

        return run

    seconds = common.interleave(
        {"masked_only": epoch(False), "every_position": epoch(True)}, repeats=repeats
    )
    pieces = sum(int(b["tokens"]["tokens"]["mask"].sum()) for b in batches)
    rows, results = [], {"batches": len(batches), "real_pieces": pieces, "modes": {}}
    for name, values in seconds.items():
        stats = common.summary(values)
        versus = common.ratio(values, seconds["masked_only"])
        results["modes"][name] = {"epoch_seconds": stats, "time_vs_masked_only": versus}
        rows.append([name, common.spread_text(stats), common.spread_text(versus)])
    markdown = (
        f"Masked-LM training steps (forward + backward): {len(batches)} RTE batches of 16, "
        f"{pieces} real pieces, {repeats} interleaved repeats, {args.threads} torch thread(s)\n\n"
        + common.table(["mode", "s median [min, max]", "time / masked_only"], rows)
    )
    common.write_results("masked_lm", args, results, markdown)


if __name__ == "__main__":
    main()
