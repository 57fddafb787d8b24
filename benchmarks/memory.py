"""Peak memory (resident set) of training and prediction: the package against the bare loop.

    MTDNN_DATA=/work/shared/data python benchmarks/memory.py --quick

Every measurement is a fresh process (ru_maxrss only grows, and torch's allocator keeps what it
took), run in turn with the others: package training (`allennlp train`'s loop, one epoch),
bare training (torch + transformers only, on the same batches), package prediction (the
predictor on JSON lines) and bare prediction (tokenizer + forward), on the same inputs.
"""

import json
import sys
import tempfile
import time
from copy import deepcopy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

TASKS = ["rte", "mrpc", "sst2"]
QUICK = {"train_examples": 8, "batch_size": 8, "max_length": 64}
FULL = {"train_examples": 64, "batch_size": 16, "max_length": 128}
KINDS = ["train_mtdnn", "train_bare", "predict_mtdnn", "predict_bare"]


def child(kind: str, folder: Path, quick: bool) -> None:
    """Runs one measurement and prints its peak RSS as JSON (the last line of stdout)."""
    common.setup_environment()
    size = QUICK if quick else FULL
    spec = json.loads((folder / "spec.json").read_text())
    start = time.perf_counter()
    if kind == "train_bare":
        import torch

        from benchmarks.bare import BareLoop

        batches = torch.load(folder / "batches.pt")
        BareLoop(spec["tasks"], batches, encoder=spec["encoder_folder"]).epoch()
    elif kind == "predict_bare":
        import torch
        from transformers import AutoModel, AutoTokenizer

        from benchmarks.bare import tokenize_batch

        tokenizer = AutoTokenizer.from_pretrained(spec["encoder_folder"])
        model = AutoModel.from_pretrained(spec["encoder_folder"]).eval()
        hidden = model.config.hidden_size
        head = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.Tanh())
        with torch.inference_mode():
            for batch in spec["predict_batches"]:
                encoded = tokenize_batch(tokenizer, batch)
                head(model(**encoded).last_hidden_state[:, 0]).argmax(-1).tolist()
    else:
        from benchmarks.workloads import Experiment, experiment_params

        params = experiment_params(TASKS, **size)
        if kind == "train_mtdnn":
            Experiment(params).epoch()
        else:
            from allennlp.common import Params
            from allennlp.data import DatasetReader, Vocabulary
            from allennlp.models import Model

            from mtdnn_allennlp.predictors import MultiTaskPredictor

            model = Model.from_params(
                vocab=Vocabulary.empty(), params=Params(deepcopy(params["model"]))
            )
            reader = DatasetReader.from_params(
                Params(deepcopy(params["validation_dataset_reader"]))
            )
            predictor = MultiTaskPredictor(model.eval(), reader)
            for batch in spec["predict_batches"]:
                for output in predictor.predict_batch_json(batch):
                    predictor.dump_line(output)
    seconds = time.perf_counter() - start
    print(json.dumps({"peak_rss_mb": common.peak_rss_mb(), "seconds": seconds}))


def prepare(folder: Path, quick: bool) -> None:
    """Writes the shared inputs: the training batches and the prediction inputs."""
    common.setup_environment()
    import torch
    from allennlp.common import Params
    from allennlp.data import DataLoader, DatasetReader, Vocabulary

    from benchmarks.workloads import ENCODER, experiment_params, task_inputs
    from mtdnn_allennlp.common.encoders import resolve_encoder

    params = experiment_params(TASKS, **(QUICK if quick else FULL))
    reader = DatasetReader.from_params(Params(params["dataset_reader"]))
    loader = DataLoader.from_params(
        Params(params["data_loader"]), reader=reader, data_path=params["train_data_path"]
    )
    loader.index_with(Vocabulary.empty())
    torch.save([loader.collator(b) for b in loader.epoch_batches(0)], folder / "batches.pt")
    count = 16 if quick else 128
    batches = []
    for task in ("rte", "sst2"):
        inputs = task_inputs(task, count)
        batches += [inputs[i : i + 16] for i in range(0, len(inputs), 16)]
    spec = {
        "tasks": params["model"]["tasks"],
        "encoder_folder": resolve_encoder(ENCODER),
        "predict_batches": batches,
    }
    (folder / "spec.json").write_text(json.dumps(spec))


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        child(argv[1], Path(argv[2]), quick=argv[3] == "quick")
        return
    args = common.parse(__doc__)
    repeats = args.repeats or (1 if args.quick else 3)
    mode = "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory(prefix="mtdnn-memory-") as name:
        folder = Path(name)
        prepare(folder, args.quick)
        peaks = {kind: [] for kind in KINDS}
        seconds = {kind: [] for kind in KINDS}

        def measure(kind):
            def run():
                result = common.run_child(
                    [str(Path(__file__).resolve()), "--child", kind, str(folder), mode]
                )
                peaks[kind].append(result["peak_rss_mb"])
                seconds[kind].append(result["seconds"])

            return run

        common.interleave({kind: measure(kind) for kind in KINDS}, repeats=repeats, warmup=0)
    results = {"repeats": repeats, "size": QUICK if args.quick else FULL, "peak_rss_mb": {}}
    rows = []
    for kind in KINDS:
        stats = common.summary(peaks[kind])
        bare = "train_bare" if kind.startswith("train") else "predict_bare"
        versus = common.ratio(peaks[kind], peaks[bare])
        results["peak_rss_mb"][kind] = {"stats": stats, "vs_bare": versus, "seconds": seconds[kind]}
        rows.append([kind, common.spread_text(stats, 4), common.spread_text(versus)])
    markdown = (
        f"Peak resident memory (ru_maxrss of a fresh process per measurement), {repeats} "
        f"interleaved repeat(s), training size {QUICK if args.quick else FULL}\n\n"
        + common.table(["process", "peak RSS MiB median [min, max]", "vs bare"], rows)
    )
    common.write_results("memory", args, results, markdown)


if __name__ == "__main__":
    main()
