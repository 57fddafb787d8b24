"""Device and precision choice on a CPU machine: MTDNN_DEVICE with torch.cuda patched, the
configs it yields, the log line, autocast device types, tensors following the model's device,
SMART under a GradScaler and under bf16, and the ONNX execution providers."""

import logging
from types import SimpleNamespace

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.common.environment import environment_with_defaults
from mtdnn_allennlp.distillation.predict_onnx import choose_providers
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder
from mtdnn_allennlp.modules.student_encoders import BiLstmEncoder
from mtdnn_allennlp.training.adversarial import adversarial_noise, amp_autocast
from mtdnn_allennlp.training.device import DeviceLogCallback, choose_device, device_name
from tests.conftest import ROOT, TINY_BERT
from tests.support import tiny_models as helpers
from tests.training.test_adversarial import _batch, _callback, _fake_trainer, _model


@pytest.fixture
def cuda(monkeypatch):
    """Sets what torch.cuda.is_available() answers."""

    def set_available(available: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: available)

    return set_available


def _config(name: str, monkeypatch, **environment: str) -> dict:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return Params.from_file(str(ROOT / "training_config" / name)).as_dict(quiet=True)


# --- choosing the device ----------------------------------------------------------------------


def test_auto_takes_the_gpu_only_when_cuda_is_available(cuda):
    cuda(False)
    assert choose_device("auto") == choose_device("", cuda_available=False)
    assert choose_device("auto").cuda_devices == [-1]
    assert choose_device("auto").reason == "no CUDA available"
    cuda(True)
    assert choose_device("auto").cuda_devices == [0]
    assert "CUDA available" in choose_device("auto").reason


@pytest.mark.parametrize(
    "setting,devices",
    [("cpu", [-1]), ("CPU", [-1]), ("-1", [-1]), ("1", [1]), ("0,1", [0, 1]), ("-1,-1", [-1, -1])],
)
def test_explicit_settings_do_not_depend_on_cuda(cuda, setting, devices):
    cuda(True)
    assert choose_device(setting).cuda_devices == devices
    assert f"MTDNN_DEVICE={setting}" in choose_device(setting).reason


@pytest.mark.parametrize("setting", ["gpu", "cuda:0", "0,x", "-2"])
def test_a_bad_setting_names_the_variable_and_the_choices(setting):
    with pytest.raises(ConfigurationError, match=r"MTDNN_DEVICE='.*' is not a device: use auto"):
        choose_device(setting)


def test_the_configs_receive_the_choice(cuda, monkeypatch):
    cuda(False)
    monkeypatch.delenv("MTDNN_DEVICE", raising=False)
    variables = environment_with_defaults()
    assert variables["MTDNN_DEVICE_CHOICE"] == "-1"
    assert variables["MTDNN_DEVICE_REASON"] == "no CUDA available"


# --- the configs ------------------------------------------------------------------------------


def test_auto_on_a_cpu_machine_trains_on_the_cpu_and_says_why(cuda, monkeypatch):
    cuda(False)
    config = _config("demo.jsonnet", monkeypatch)
    assert config["trainer"]["cuda_device"] == -1
    assert "distributed" not in config
    assert {"type": "mtdnn_device_log", "reason": "no CUDA available"} in config["trainer"][
        "callbacks"
    ]


def test_auto_on_a_gpu_machine_trains_on_gpu_0(cuda, monkeypatch):
    cuda(True)
    assert _config("demo.jsonnet", monkeypatch)["trainer"]["cuda_device"] == 0


def test_a_list_of_devices_goes_through_allennlps_distributed_section(cuda, monkeypatch):
    cuda(False)
    config = _config("demo.jsonnet", monkeypatch, MTDNN_DEVICE="0,1")
    assert config["distributed"]["cuda_devices"] == [0, 1]
    assert config["distributed"]["ddp_accelerator"]["find_unused_parameters"] is True
    assert "cuda_device" not in config["trainer"]  # allennlp sets it per worker


def test_fp16_turns_on_allennlps_amp_on_a_gpu(cuda, monkeypatch):
    cuda(True)
    config = _config("demo.jsonnet", monkeypatch, MTDNN_PRECISION="fp16")
    assert config["trainer"]["use_amp"] is True
    assert "autocast_dtype" not in config["model"]["encoder"]


def test_fp16_on_the_cpu_is_refused_with_the_fix(cuda, monkeypatch):
    cuda(False)
    with pytest.raises(RuntimeError, match="MTDNN_PRECISION=fp16 needs CUDA.*use MTDNN_PRECISION"):
        _config("demo.jsonnet", monkeypatch, MTDNN_PRECISION="fp16")


def test_an_unknown_precision_is_refused(monkeypatch):
    with pytest.raises(RuntimeError, match='MTDNN_PRECISION is "fp8"; use one of fp32, fp16, bf16'):
        _config("demo.jsonnet", monkeypatch, MTDNN_PRECISION="fp8")


@pytest.mark.parametrize(
    "name",
    [
        "demo.jsonnet",
        "adversarial/rte.jsonnet",
        "distillation/student_bilstm.jsonnet",
        "distillation/student_small_transformer.jsonnet",
    ],
)
def test_bf16_puts_every_encoder_under_bfloat16_autocast(cuda, monkeypatch, name):
    cuda(False)
    config = _config(name, monkeypatch, MTDNN_PRECISION="bf16")
    assert config["model"]["encoder"]["autocast_dtype"] == "bfloat16"
    assert "use_amp" not in config["trainer"]


# --- the log line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "device,name", [(-1, "cpu"), (torch.device("cpu"), "cpu"), (1, "cuda:1"), ("cuda", "cuda:0")]
)
def test_device_names(device, name):
    assert device_name(device) == name


def test_the_callback_logs_the_trainers_device_and_the_reason(caplog):
    callback = DeviceLogCallback("unused", reason="no CUDA available")
    with caplog.at_level(logging.INFO, logger="mtdnn_allennlp.training.device"):
        callback.on_start(SimpleNamespace(cuda_device=torch.device("cpu")))
    assert "device: cpu (no CUDA available)" in caplog.text


# --- autocast and tensors follow the model's device -------------------------------------------


def test_smart_autocast_follows_the_device_type_and_the_amp_switch():
    with amp_autocast(SimpleNamespace(_use_amp=True), torch.device("cpu")):
        assert torch.is_autocast_enabled("cpu")
        assert torch.get_autocast_dtype("cpu") == torch.float16
        assert not torch.is_autocast_enabled("cuda")
    with amp_autocast(SimpleNamespace(_use_amp=False), torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")


def test_encoder_autocast_runs_on_the_inputs_device_type():
    encoder = SharedEncoder()
    encoder.set_autocast_dtype("bfloat16")
    seen = {}

    def run():
        seen["cpu"] = torch.is_autocast_enabled("cpu")
        seen["dtype"] = torch.get_autocast_dtype("cpu")
        return torch.ones(2, dtype=torch.bfloat16)

    output = encoder.under_autocast(run, like=torch.zeros(1))
    assert seen == {"cpu": True, "dtype": torch.bfloat16}
    assert output.dtype == torch.float32


def test_bilstm_student_trains_under_bf16_autocast():
    student = BiLstmEncoder(str(TINY_BERT), lstm_size=8, autocast_dtype="bfloat16")
    token_ids = torch.randint(5, 500, (2, 6))
    mask = torch.ones(2, 6, dtype=torch.bool)
    encoded = student(token_ids, mask)
    assert encoded.dtype == torch.float32 and torch.isfinite(encoded).all()
    encoded.sum().backward()
    assert student.embeddings.weight.grad.abs().sum() > 0


def test_soft_targets_move_each_batch_to_the_teachers_device(monkeypatch):
    """teacher_records hands every batch to allennlp's move_to_device with the device of the
    model's parameters (on a GPU machine the gpu test runs the real thing)."""
    import allennlp.models.archival
    import allennlp.nn.util

    from mtdnn_allennlp.distillation.soft_targets import teacher_records

    teacher = helpers.model(["rte"], {"type": "transformer", "model_name": helpers.TINY_BERT})
    archive = SimpleNamespace(model=teacher, validation_dataset_reader=helpers.reader(["rte"]))
    monkeypatch.setattr(allennlp.models.archival, "load_archive", lambda *a, **k: archive)
    moved = []
    real_move = allennlp.nn.util.move_to_device

    def spy(tensors, device):
        moved.append(device)
        return real_move(tensors, device)

    monkeypatch.setattr(allennlp.nn.util, "move_to_device", spy)
    records = teacher_records("unused.tar.gz", {"rte": str(helpers.TRAIN["rte"])}, batch_size=8)
    assert records and moved
    assert set(moved) == {next(teacher.parameters()).device}


# --- SMART under mixed precision --------------------------------------------------------------


def test_the_noise_ascent_is_scale_invariant():
    """Scaling the divergence (the GradScaler's scale under fp16) gives the same noise."""
    weights = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    embeddings = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 4, dtype=torch.bool)
    target = torch.randn(2, 4, 3)

    def noise(scale):
        return adversarial_noise(
            lambda x: x @ weights,
            lambda logits, t: ((logits - t) ** 2).sum(),
            embeddings,
            mask,
            target,
            k=2,
            step_size=1e-3,
            noise_var=1e-5,
            norm="l2",
            level="token",
            epsilon=1e-2,
            generator=torch.Generator().manual_seed(2),
            loss_scale=scale,
        )

    torch.testing.assert_close(noise(1.0), noise(65536.0))


@pytest.mark.parametrize("precision", ["fp16_scaler", "bf16_encoder"])
def test_smart_step_under_mixed_precision_gives_finite_gradients(tiny_encoder, precision):
    model = _model().train()
    trainer = _fake_trainer(model)
    if precision == "fp16_scaler":
        # What allennlp's use_amp gives on a GPU, with the CPU's autocast and GradScaler.
        trainer._use_amp = True
        trainer._scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    else:
        model.encoder.set_autocast_dtype("bfloat16")
    callback = _callback(adv_alpha=1.0, adv_noise_var=1e-2)
    callback.on_start(trainer)
    with amp_autocast(trainer, torch.device("cpu")):
        outputs = model(**_batch("rte", torch.tensor([0, 1, 0])))
    assert callback.on_backward(trainer, outputs, backward_called=False)
    assert callback.skipped_batches == 0
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert callback.monitors["adv_loss"]() > 0


def test_predict_onnx_keeps_the_available_providers_in_order_and_the_cpu_last(capsys):
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(None, available) == ["CPUExecutionProvider"]
    assert choose_providers(["CUDAExecutionProvider"], available) == available
    assert choose_providers(["CUDAExecutionProvider"], ["CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]
    assert "CUDAExecutionProvider not available" in capsys.readouterr().err
