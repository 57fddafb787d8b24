"""Every compatibility fix: the real failure without it, and the working behaviour with it.

allennlp can only be imported once per interpreter, and only the first import runs the fixes, so
the checks run in fresh interpreters (``stack_checks.py`` prints one JSON report per run):

- "armed": the normal environment, the ``.pth`` hook active; every check must pass.
- "without_runtime_fixes" / "without_adamw": ``MTDNN_ALLENNLP_NO_COMPAT=1``, then the script arms
  the hook itself minus the named fixes. The fixes that precede a failure stay in place (without
  the torchvision placeholder no allennlp module would import), so each report shows the failure
  of exactly the fixes removed. The "without_adamw" run also puts a torchvision package first on
  the path that fails at import the way the PyPI wheel does beside the CPU torch wheel (the
  placeholder must replace it; the two checks are independent).
- "cli_*": the stock ``allennlp`` console script, armed and fully disarmed (no mtdnn_allennlp
  import at all): the measured failure at CLI start.

The runs take ~10 s each (the allennlp import); they are started together when the first test
asks for one and run two at a time.
"""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import types
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

import pytest

from mtdnn_allennlp.compat import check, fixes

CHECKS_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "stack_checks.py"
ALLENNLP_CLI = Path(sys.executable).parent / "allennlp"
RUNTIME_FIXES = (
    "tokenizer_add_special_tokens",
    "torch_load_numpy_scalars",
    "torch_cuda_amp",
    "testing_assert_allclose",
)
TORCHVISION_NOT_FOUND = "ModuleNotFoundError: No module named 'torchvision'"
# Fixes for transformers 5 and the huggingface_hub 1.x it needs (docs/compatibility.md).
TRANSFORMERS_5_FIXES = ("huggingface_hub_v1", "tokenizer_encode_plus")
BROKEN_TORCHVISION = 'raise RuntimeError("operator torchvision::nms does not exist")\n'


def environment(armed: bool, python_path: str = "") -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("MTDNN_ALLENNLP_NO_COMPAT", None)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    if not armed:
        env["MTDNN_ALLENNLP_NO_COMPAT"] = "1"
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [python_path, env.get("PYTHONPATH")]))
    return env


def run_python(args: List[str], env: Dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # cwd is an empty folder: the allennlp CLI reads .allennlp_plugins from the current folder.
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=1200, check=False
    )


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cwd")
    broken = tmp_path_factory.mktemp("broken_torchvision")
    (broken / "torchvision").mkdir()
    (broken / "torchvision" / "__init__.py").write_text(BROKEN_TORCHVISION)
    checks = [sys.executable, str(CHECKS_SCRIPT)]
    vision = ["--checks", "vision_modules,torchvision_use"]
    jobs = {
        "armed": (checks, environment(True)),
        "without_runtime_fixes": (
            checks
            + ["--without", ",".join(RUNTIME_FIXES)]
            + ["--checks", "tokenizer,checkpointer,amp_autocast,assert_allclose"]
            + ["--checks", "training_and_recovery"],
            environment(False),
        ),
        "without_adamw": (
            checks + ["--without", "transformers_adamw", "--checks", "huggingface_adamw"] + vision,
            environment(False, python_path=str(broken)),
        ),
        "cli_armed": ([str(ALLENNLP_CLI), "--help"], environment(True)),
        "cli_disarmed": ([str(ALLENNLP_CLI), "--help"], environment(False)),
    }
    # The CLI runs are read by the tests marked slow only: skip them under -m "not slow".
    here = Path(__file__).resolve()
    slow_selected = any(
        item.get_closest_marker("slow") and Path(item.path).resolve() == here
        for item in request.session.items
    )
    pool = ThreadPoolExecutor(max_workers=2)
    futures: Dict[str, Future] = {
        key: pool.submit(run_python, args, env, cwd)
        for key, (args, env) in jobs.items()
        if slow_selected or not key.startswith("cli_")
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def completed(runs, key: str) -> subprocess.CompletedProcess:
    return runs[key].result()


def report(runs, key: str) -> dict:
    result = completed(runs, key)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        pytest.fail(f"{key}: exit {result.returncode}\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])


def passed(runs, key: str, name: str):
    """The value a check returned; fails the test with the check's error if it raised."""
    outcome = report(runs, key)[name]
    assert outcome["ok"], f"{name} failed in {key}: {outcome['error_type']}: {outcome['error']}"
    return outcome["value"]


def failed(runs, key: str, name: str) -> str:
    """'ErrorType: message' of a check that is expected to raise."""
    outcome = report(runs, key)[name]
    assert not outcome["ok"], f"{name} unexpectedly passed in {key}: {outcome['value']!r}"
    return f"{outcome['error_type']}: {outcome['error']}"


def future_warnings(runs, key: str, name: str) -> List[str]:
    return [w for w in report(runs, key)[name]["warnings"] if w.startswith("FutureWarning")]


# --- the hook ------------------------------------------------------------------------------------

STARTUP_PROBE = (
    "import sys; print(sorted(m for m in ('torch', 'numpy', 'transformers', 'allennlp') "
    "if m in sys.modules), 'mtdnn_allennlp.compat.bootstrap' in sys.modules, "
    "any(type(f).__name__ == '_FixingFinder' for f in sys.meta_path))"
)


def test_pth_file_is_installed_in_site_packages():
    pth = Path(sysconfig.get_paths()["purelib"]) / "mtdnn_allennlp_compat.pth"
    text = pth.read_text()
    assert text.startswith("import ")  # only "import" lines of a .pth are executed
    assert "MTDNN_ALLENNLP_NO_COMPAT" in text and "bootstrap" in text and "install()" in text


def test_interpreter_start_arms_the_hook_without_importing_torch(tmp_path):
    result = run_python([sys.executable, "-c", STARTUP_PROBE], environment(True), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "[] True True"


def test_no_compat_variable_disarms_the_hook(tmp_path):
    result = run_python([sys.executable, "-c", STARTUP_PROBE], environment(False), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "[] False False"


@pytest.mark.slow
def test_stock_allennlp_cli_starts_with_the_hook(runs):
    result = completed(runs, "cli_armed")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "usage: allennlp" in result.stdout


@pytest.mark.slow
def test_stock_allennlp_cli_fails_without_the_hook(runs):
    result = completed(runs, "cli_disarmed")
    assert result.returncode != 0
    assert TORCHVISION_NOT_FOUND in result.stderr


# --- stack_check -----------------------------------------------------------------------------


def test_this_stack_is_supported():
    assert check.stack_problems() == []


def test_stack_problems_name_what_to_install(monkeypatch):
    found = {"torch": "1.12.1", "transformers": "6.0.0", "allennlp": None}
    monkeypatch.setattr(check, "_installed", found.get)
    problems = check.stack_problems()
    assert problems == [
        "torch 1.12.1 is not supported: pip install torch==2.13.0",
        "transformers 6.0.0 is not supported: pip install transformers==4.57.6",
        "allennlp is not installed: pip install --no-deps allennlp==2.10.1",
    ]
    message = check.stack_message(problems)
    assert message.splitlines()[1:4] == [f"  - {problem}" for problem in problems]
    assert "requirements/lock.txt" in message


@pytest.mark.parametrize("transformers", ["4.40.0", "4.57.6", "5.0.0", "5.24.0"])
def test_transformers_4_and_5_are_supported(monkeypatch, transformers):
    found = {"torch": "2.13.0", "transformers": transformers, "allennlp": "2.10.1"}
    monkeypatch.setattr(check, "_installed", found.get)
    assert check.stack_problems() == []


def test_stack_check_fix_is_needed_only_on_an_unsupported_stack(monkeypatch):
    stack_check = next(each for each in fixes.FIXES if each.name == "stack_check")
    assert not stack_check.needed()
    monkeypatch.setattr(check, "stack_problems", lambda: ["torch 1.12.1 is not supported"])
    assert stack_check.needed()


def test_unsupported_stack_stops_the_cli_with_one_message(monkeypatch, capsys):
    problems = ["torch 1.12.1 is not supported: pip install torch==2.13.0"]
    monkeypatch.setattr(check, "stack_problems", lambda: problems)
    monkeypatch.setattr(sys, "argv", [str(ALLENNLP_CLI), "train", "config.jsonnet"])
    with pytest.raises(SystemExit) as stopped:
        fixes.refuse_unsupported_stack(types.ModuleType("allennlp"))
    assert stopped.value.code == 2
    assert capsys.readouterr().err == check.stack_message(problems) + "\n"


def test_unsupported_stack_raises_an_import_error_outside_the_cli(monkeypatch):
    problems = ["transformers 6.0.0 is not supported: pip install transformers==4.57.6"]
    monkeypatch.setattr(check, "stack_problems", lambda: problems)
    monkeypatch.setattr(sys, "argv", ["train.py"])
    with pytest.raises(check.UnsupportedStackError, match="pip install transformers==4.57.6"):
        fixes.refuse_unsupported_stack(types.ModuleType("allennlp"))


def test_unsupported_stack_stops_allennlp_import_before_its_code_runs(tmp_path):
    code = textwrap.dedent("""
        import sys
        from mtdnn_allennlp.compat import check
        real = check._installed
        check._installed = lambda name: "1.12.1" if name == "torch" else real(name)
        sys.argv = ["allennlp", "train"]
        import allennlp
        print("allennlp was imported")
        """)
    result = run_python([sys.executable, "-c", code], environment(True), tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "mtdnn_allennlp cannot run AllenNLP on this stack:",
        "  - torch 1.12.1 is not supported: pip install torch==2.13.0",
        "The tested set is pinned in requirements/lock.txt; `make install` builds it.",
    ]


# --- 1. torchvision_placeholder ----------------------------------------------------------------


@pytest.mark.slow
def test_missing_torchvision_breaks_allennlp_import_without_fix(runs):
    stderr = completed(runs, "cli_disarmed").stderr
    assert "allennlp/data/image_loader.py" in stderr
    assert stderr.rstrip().endswith(TORCHVISION_NOT_FOUND)


def test_torchvision_placeholder_lets_vision_modules_import(runs):
    assert passed(runs, "armed", "vision_modules") == "_TorchvisionPlaceholder"


def test_torchvision_placeholder_explains_what_to_install_on_use(runs):
    message = passed(runs, "armed", "torchvision_use")
    assert message.startswith("torchvision.models: torchvision is not usable here")
    assert "(it is not installed)" in message
    assert "pip install torch==" in message and "torchvision==" in message


def test_broken_torchvision_is_replaced_by_the_placeholder(runs):
    # The "without_adamw" run has a torchvision that raises this error at import on its path.
    assert passed(runs, "without_adamw", "vision_modules") == "_TorchvisionPlaceholder"
    message = passed(runs, "without_adamw", "torchvision_use")
    assert "importing it fails: operator torchvision::nms does not exist" in message


# --- 3. transformers_adamw -------------------------------------------------------------------


def test_transformers_adamw_missing_without_fix(runs):
    error = failed(runs, "without_adamw", "huggingface_adamw")
    assert error == "AttributeError: module transformers has no attribute AdamW"


def test_huggingface_adamw_optimizer_steps_like_torch_adamw(runs):
    import torch

    value = passed(runs, "armed", "huggingface_adamw")
    assert value["mro"][:3] == ["HuggingfaceAdamWOptimizer", "Optimizer", "HuggingfaceAdamW"]
    assert value["fused"] is True
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    reference = torch.optim.AdamW([weight], lr=0.1, eps=1e-6, weight_decay=0.01)
    (weight**2).sum().backward()
    reference.step()
    # The shim runs torch's fused kernel, torch's default here is its per-tensor loop: the same
    # update up to float rounding.
    assert value["weight"] == pytest.approx(weight.tolist(), abs=1e-6)


def _adamw_trajectory(optimizer_class, steps: int = 5, **kwargs) -> list:
    import torch

    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(3, 4))
    target = torch.randn(3, 4)
    optimizer = optimizer_class([weight], **kwargs)
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        ((weight - target) ** 2).sum().backward()
        optimizer.step()
        trajectory.append(weight.detach().clone())
    return trajectory


def test_adamw_shim_matches_torch_adamw_exactly():
    import torch

    from mtdnn_allennlp.compat.adamw import HuggingfaceAdamW

    settings = dict(lr=0.05, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1)
    shim = _adamw_trajectory(HuggingfaceAdamW, **settings)
    reference = _adamw_trajectory(torch.optim.AdamW, fused=True, **settings)
    assert all(torch.equal(a, b) for a, b in zip(shim, reference, strict=True))
    assert not torch.equal(shim[0], shim[-1])
    unfused = _adamw_trajectory(torch.optim.AdamW, foreach=False, **settings)
    for a, b in zip(shim, unfused, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_adamw_shim_uses_the_fused_kernel_where_torch_has_one():
    import torch

    from mtdnn_allennlp.compat.adamw import HuggingfaceAdamW, fused_kwargs

    weight = torch.nn.Parameter(torch.zeros(2))
    groups = [{"params": [weight], "weight_decay": 0.0}]
    assert HuggingfaceAdamW(groups).defaults["fused"] is True
    assert fused_kwargs([weight]) == {"fused": True}
    # Integer tensors (never trained, but a caller may pass them) get torch's default path.
    assert fused_kwargs([weight, torch.zeros(2, dtype=torch.long)]) == {}
    assert fused_kwargs([]) == {}


def test_adamw_shim_defaults_are_the_transformers_defaults():
    import torch

    from mtdnn_allennlp.compat.adamw import HuggingfaceAdamW

    shim = _adamw_trajectory(HuggingfaceAdamW)
    # transformers.AdamW: lr=1e-3, eps=1e-6, weight_decay=0.0 (torch's own are 1e-8 and 1e-2).
    reference = _adamw_trajectory(torch.optim.AdamW, lr=1e-3, eps=1e-6, weight_decay=0.0)
    assert all(torch.equal(a, b) for a, b in zip(shim, reference, strict=True))


def test_adamw_shim_refuses_correct_bias_false():
    import torch

    from mtdnn_allennlp.compat.adamw import HuggingfaceAdamW

    with pytest.raises(ValueError, match="correct_bias=False is not available") as refused:
        HuggingfaceAdamW([torch.nn.Parameter(torch.zeros(1))], correct_bias=False)
    assert "correct_bias=true" in str(refused.value) and "'adamw'" in str(refused.value)


# --- 4. tokenizer_add_special_tokens -----------------------------------------------------------


def test_pretrained_transformer_tokenizer_fails_without_fix(runs):
    error = failed(runs, "without_runtime_fixes", "tokenizer")
    assert error.startswith("AttributeError: add_special_tokens conflicts with the method")


def test_pretrained_transformer_tokenizer_works_with_fix(runs):
    tokens = passed(runs, "armed", "tokenizer")
    assert tokens["with"] == ["[CLS]", "hello", "world", "[SEP]"]
    # allennlp still honours add_special_tokens: it passes the flag to every encode call.
    assert tokens["without"] == ["hello", "world"]


# --- 8. torch_load_numpy_scalars ---------------------------------------------------------------


def test_checkpoint_with_numpy_scalars_fails_to_load_without_fix(runs):
    error = failed(runs, "without_runtime_fixes", "checkpointer")
    assert error.startswith("UnpicklingError: Weights only load failed")


def test_checkpoint_with_numpy_scalars_loads_with_fix(runs):
    assert passed(runs, "armed", "checkpointer") == {
        "best_so_far": ["float64", 0.75],
        "epochs_with_no_improvement": ["int64", 0.0],
        "is_best_so_far": ["bool", 1.0],
        "last_value": ["float32", 0.5],
    }


def test_torch_load_still_refuses_other_classes_with_fix(runs):
    error_type, message = passed(runs, "armed", "checkpointer_refuses_other_classes")
    assert error_type == "UnpicklingError"
    assert "Untrusted" in message


def test_training_recovers_from_a_checkpoint_with_a_numpy_metric(runs):
    value = passed(runs, "armed", "training_and_recovery")
    assert value == {"resumed_after_epochs": 2, "best_so_far_type": "float64", "last_epoch": 2}


# --- 9. torch_cuda_amp -----------------------------------------------------------------------


def test_trainer_amp_autocast_warns_without_fix(runs):
    error = failed(runs, "without_runtime_fixes", "amp_autocast")
    assert error.startswith("FutureWarning: `torch.cuda.amp.autocast(args...)` is deprecated")


def test_training_warns_every_batch_without_fix(runs):
    error = failed(runs, "without_runtime_fixes", "training_and_recovery")
    assert error.startswith("FutureWarning: `torch.cuda.amp.autocast(args...)` is deprecated")


def test_trainer_amp_autocast_is_silent_with_fix(runs):
    assert passed(runs, "armed", "amp_autocast") == 4.0
    assert future_warnings(runs, "armed", "amp_autocast") == []


def test_training_is_silent_with_fix(runs):
    passed(runs, "armed", "training_and_recovery")
    assert future_warnings(runs, "armed", "training_and_recovery") == []


# --- 10. testing_assert_allclose -------------------------------------------------------------


def test_testing_assert_allclose_warns_without_fix(runs):
    error = failed(runs, "without_runtime_fixes", "assert_allclose")
    assert error.startswith("FutureWarning: `torch.testing.assert_allclose()` is deprecated")


def test_testing_assert_allclose_is_silent_with_fix(runs):
    passed(runs, "armed", "assert_allclose")
    assert future_warnings(runs, "armed", "assert_allclose") == []


def test_testing_assert_allclose_keeps_the_deprecated_functions_tolerances(runs):
    assert passed(runs, "armed", "assert_allclose") == {
        "float32 within 5e-5": "equal",
        "float32 off by 1e-3": "not equal",
        "metrics off by 0.1": "not equal",
    }


# --- bookkeeping -----------------------------------------------------------------------------


def test_fix_needs_match_what_was_applied(runs):
    state = passed(runs, "armed", "fix_state")
    assert sorted(state) == sorted(each.name for each in fixes.FIXES)
    for name, each in state.items():
        # Every target module was imported, so a needed fix ran once on each, others never.
        expected = each["modules"] if each["needed"] else []
        assert each["applied"] == expected, name
    assert not state["stack_check"]["needed"]
    transformers_5 = check._parse(check._installed("transformers")) >= (5,)
    for name in TRANSFORMERS_5_FIXES:  # needed on transformers 5 and only there
        assert state[name]["needed"] == transformers_5, name
    always = set(state) - {"stack_check", *TRANSFORMERS_5_FIXES}
    assert all(state[name]["needed"] for name in always)
