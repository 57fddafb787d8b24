"""Inference: the `allennlp predict` path (MultiTaskPredictor on JSON lines, JSON out) against a
bare transformers forward pass on the same inputs, with the same weights.

    MTDNN_DATA=/work/shared/data python benchmarks/inference.py --quick

The bare side tokenises the batch with the encoder's tokenizer, runs the transformer and the
task's head under `torch.inference_mode`, and takes the argmax: the floor for the same answers.
The predicted labels of both are compared, so a speed-up that changed answers would show. A
third variant runs the predictor with the encoder under bf16 autocast; its label agreement with
float32 is reported too.
"""

import json
import sys
from copy import deepcopy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

common.setup_environment()

import torch  # noqa: E402
from allennlp.common import Params  # noqa: E402
from allennlp.data import DatasetReader, Vocabulary  # noqa: E402
from allennlp.models import Model  # noqa: E402

from benchmarks.bare import tokenize_batch  # noqa: E402
from benchmarks.workloads import experiment_params, task_inputs  # noqa: E402
from mtdnn_allennlp.data.tokenization import load_tokenizer  # noqa: E402
from mtdnn_allennlp.predictors import MultiTaskPredictor  # noqa: E402

TASKS = ["rte", "sst2"]


def batches_of(inputs, size):
    return [inputs[i : i + size] for i in range(0, len(inputs), size)]


def main() -> None:
    args = common.parse(__doc__)
    per_task = 32 if args.quick else 256
    batch_size = 16
    repeats = args.repeats or (3 if args.quick else 8)
    params = experiment_params(TASKS, train_examples=0)
    torch.manual_seed(0)
    model = Model.from_params(vocab=Vocabulary.empty(), params=Params(deepcopy(params["model"])))
    model.eval()
    reader = DatasetReader.from_params(Params(deepcopy(params["validation_dataset_reader"])))
    predictor = MultiTaskPredictor(model, reader)
    inputs = [line for task in TASKS for line in task_inputs(task, per_task)]
    # One task per batch on both sides (inputs are grouped by task, as a user would batch).
    batches = [
        b
        for task in TASKS
        for b in batches_of([x for x in inputs if x["task"] == task], batch_size)
    ]
    tokenizer = load_tokenizer(params["model"]["encoder"]["model_name"])
    transformer = model.encoder.transformer
    labels = {name: task.labels for name, task in model.tasks.items()}

    def predict():
        lines = []
        for batch in batches:
            for output in predictor.predict_batch_json(batch):
                lines.append(predictor.dump_line(output))
        return [json.loads(line)["label"] for line in lines]

    def predict_bf16():
        model.encoder.autocast_dtype = torch.bfloat16
        try:
            return predict()
        finally:
            model.encoder.autocast_dtype = None

    def bare():
        answers = []
        with torch.inference_mode():
            for batch in batches:
                task = batch[0]["task"]
                encoded = tokenize_batch(tokenizer, batch)
                hidden = transformer(**encoded).last_hidden_state
                logits = model.heads[task](hidden, encoded["attention_mask"].bool())
                answers += [labels[task][i] for i in logits.argmax(-1).tolist()]
        return answers

    agreement_bare = _agreement(predict(), bare())
    agreement_bf16 = _agreement(predict(), predict_bf16())
    seconds = common.interleave(
        {"allennlp_predict": predict, "bare_forward": bare, "predict_bf16": predict_bf16},
        repeats=repeats,
    )
    results = {
        "tasks": TASKS,
        "inputs": len(inputs),
        "batch_size": batch_size,
        "repeats": repeats,
        "seconds": seconds,
        "label_agreement_with_bare": agreement_bare,
        "label_agreement_bf16_vs_fp32": agreement_bf16,
        "variants": {},
    }
    rows = []
    for name, values in seconds.items():
        stats = common.summary(values)
        vs_bare = common.ratio(values, seconds["bare_forward"])
        results["variants"][name] = {
            "seconds": stats,
            "examples_per_second": len(inputs) / stats["median"],
            "time_vs_bare": vs_bare,
        }
        rows.append(
            [
                name,
                common.spread_text(stats),
                len(inputs) / stats["median"],
                common.spread_text(vs_bare),
            ]
        )
    markdown = (
        f"Inference on {len(inputs)} dev inputs ({', '.join(TASKS)}), batches of {batch_size}, "
        f"{repeats} interleaved repeats, {args.threads} torch thread(s)\n\n"
        + common.table(["variant", "seconds median [min, max]", "examples/s", "time / bare"], rows)
        + f"\n\nlabels identical to the bare forward pass: {agreement_bare:.1%}; "
        f"bf16 autocast labels identical to float32: {agreement_bf16:.1%}"
    )
    common.write_results("inference", args, results, markdown)


def _agreement(first, second) -> float:
    assert len(first) == len(second)
    return sum(a == b for a, b in zip(first, second, strict=True)) / len(first)


if __name__ == "__main__":
    main()
