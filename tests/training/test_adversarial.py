"""SMART adversarial training: the perturbation against hand computations, the norm bounds,
where gradients go, config errors, the NaN guard, and the callback inside a trainer."""

import json
import math
from types import SimpleNamespace

import pytest
import torch
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.models import Model
from allennlp.training.callbacks import TrainerCallback

from mtdnn_allennlp.losses import MeanSquaredErrorLoss, SymmetricKLLoss
from mtdnn_allennlp.training.adversarial import (
    AdversarialTrainingCallback,
    adversarial_noise,
    norm_of,
    normalize,
    project,
)
from tests.conftest import ROOT

NORMS = ["inf", "l2", "l1"]
LEVELS = ["token", "sentence"]


def _config(name: str) -> dict:
    return Params.from_file(str(ROOT / "training_config" / name)).as_dict(quiet=True)


def _model(config: str = "adversarial/mtdnn.jsonnet", dropout: bool = False) -> Model:
    params = _config(config)["model"]
    if not dropout:
        params["encoder"]["config_overrides"] = {
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        }
        for task in params["tasks"]:
            task["dropout"] = 0.0
    return Model.from_params(vocab=Vocabulary.empty(), params=Params(params))


def _batch(task: str, label: torch.Tensor, batch: int = 3, length: int = 7, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    token_ids = torch.randint(5, 500, (batch, length), generator=generator)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[0, -2:] = False  # padding on the first example
    token_ids[~mask] = 0
    type_ids = torch.zeros_like(token_ids)
    type_ids[:, length // 2 :] = 1
    tokens = {"tokens": {"token_ids": token_ids, "mask": mask, "type_ids": type_ids}}
    return {"tokens": tokens, "task": [task] * batch, "label": label}


def _fake_trainer(model, accumulation: int = 1, batches: int = 4):
    return SimpleNamespace(
        model=model,
        _num_gradient_accumulation_steps=accumulation,
        data_loader=list(range(batches)),
        _batches_in_epoch_completed=0,
        _total_batches_completed=0,
        _scaler=None,
        _use_amp=False,
    )


# --- the perturbation ------------------------------------------------------------------------


@pytest.mark.parametrize("norm", NORMS)
def test_one_ascent_step_matches_a_hand_computation(norm):
    """A linear model, an MSE divergence, k = 1: the gradient and the step written out."""
    torch.manual_seed(3)
    batch, length, hidden, classes = 2, 3, 4, 2
    embeddings = torch.randn(batch, length, hidden)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    weight = torch.randn(hidden, classes)
    target = torch.randn(batch, classes)
    variance, step_size, radius = 0.04, 0.5, 0.3

    def logits_from(e):
        return (e * mask.unsqueeze(-1)).sum(1) @ weight

    def divergence(logits, t):
        return ((logits - t) ** 2).mean()

    noise = adversarial_noise(
        logits_from,
        divergence,
        embeddings,
        mask,
        target,
        k=1,
        step_size=step_size,
        noise_var=variance,
        norm=norm,
        level="token",
        epsilon=radius,
        generator=torch.Generator().manual_seed(11),
    )

    # By hand. The initial noise: the same draws, standard deviation sqrt(variance).
    draws = torch.randn(batch, length, hidden, generator=torch.Generator().manual_seed(11))
    expected = torch.zeros(batch, length, hidden)
    for b in range(batch):
        logits = sum(
            (embeddings[b, t] + draws[b, t] * 0.2) @ weight for t in range(length) if mask[b, t]
        )
        for t in range(length):
            if not mask[b, t]:
                continue  # padding is never perturbed
            # d/d(noise[b, t]) of mean((logits - target)^2) over batch * classes entries.
            grad = [
                sum(
                    2.0 / (batch * classes) * (logits[c] - target[b, c]).item() * weight[h, c]
                    for c in range(classes)
                ).item()
                for h in range(hidden)
            ]
            if norm == "inf":
                size = max(abs(g) for g in grad)
            elif norm == "l2":
                size = math.sqrt(sum(g * g for g in grad))
            else:
                size = sum(abs(g) for g in grad)
            moved = [draws[b, t, h].item() * 0.2 + step_size * grad[h] / size for h in range(4)]
            if norm == "inf":
                projected = [min(max(m, -radius), radius) for m in moved]
            elif norm == "l2":
                length2 = math.sqrt(sum(m * m for m in moved))
                projected = [m * min(1.0, radius / length2) for m in moved]
            else:
                projected = _l1_projection_by_bisection(moved, radius)
            expected[b, t] = torch.tensor(projected)
    assert noise is not None and not noise.requires_grad
    assert torch.allclose(noise, expected, atol=1e-5), (noise, expected)


def _l1_projection_by_bisection(values, radius):
    """Projection onto the l1 ball as soft-thresholding, the threshold found by bisection."""
    if sum(abs(v) for v in values) <= radius:
        return values
    low, high = 0.0, max(abs(v) for v in values)
    for _ in range(200):
        theta = (low + high) / 2
        if sum(max(abs(v) - theta, 0.0) for v in values) > radius:
            low = theta
        else:
            high = theta
    return [math.copysign(max(abs(v) - high, 0.0), v) for v in values]


def test_l1_projection_worked_examples():
    delta = torch.tensor([[[3.0, 1.0, 0.5], [2.0, 1.5, -0.1], [0.2, -0.3, 0.1]]])
    projected = project(delta, "l1", "token", 2.0)
    assert torch.allclose(projected[0, 0], torch.tensor([2.0, 0.0, 0.0]))
    assert torch.allclose(projected[0, 1], torch.tensor([1.25, 0.75, 0.0]))
    assert torch.equal(projected[0, 2], delta[0, 2])  # already inside: unchanged


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("level", LEVELS)
def test_projection_obeys_the_bound_and_is_closest(norm, level):
    torch.manual_seed(0)
    delta = torch.randn(4, 6, 8) * 3
    radius = 0.7
    projected = project(delta, norm, level, radius)
    assert (norm_of(projected, norm, level) <= radius * (1 + 1e-5)).all()
    # Points far outside land on the sphere, and points inside stay where they are.
    assert torch.allclose(
        norm_of(projected, norm, level),
        torch.full_like(norm_of(delta, norm, level), radius),
        rtol=1e-4,
    )
    small = delta * 1e-3
    assert torch.allclose(project(small, norm, level, radius), small)
    # No random point of the ball is closer to delta than the projection.
    distance = (delta - projected).reshape(4, -1).norm(dim=-1)
    for _ in range(20):
        candidate = project(torch.randn_like(delta), norm, level, radius)
        assert ((delta - candidate).reshape(4, -1).norm(dim=-1) >= distance - 1e-4).all()


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("level", LEVELS)
def test_normalized_steps_have_unit_norm(norm, level):
    grad = torch.randn(3, 5, 4)
    grad[1, 2] = 0.0  # a zero row stays zero rather than becoming NaN
    direction = normalize(grad, norm, level)
    sizes = norm_of(direction, norm, level)
    assert torch.isfinite(direction).all()
    if level == "token":
        sizes = sizes.reshape(3, 5)
        assert sizes[1, 2] == 0
        sizes[1, 2] = 1.0
    assert torch.allclose(sizes, torch.ones_like(sizes), atol=1e-5)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("level", LEVELS)
def test_noise_after_k_steps_is_bounded_and_leaves_padding_alone(norm, level):
    torch.manual_seed(1)
    embeddings = torch.randn(2, 5, 6)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    weight = torch.randn(6, 3)

    def logits_from(e):
        return torch.tanh(e).sum(1) @ weight

    noise = adversarial_noise(
        logits_from,
        SymmetricKLLoss(),
        embeddings,
        mask,
        logits_from(embeddings).detach(),
        k=3,
        step_size=0.5,
        noise_var=0.1,
        norm=norm,
        level=level,
        epsilon=0.25,
    )
    assert noise is not None
    assert (norm_of(noise, norm, level) <= 0.25 * (1 + 1e-5)).all()
    assert (noise[~mask] == 0).all()
    assert noise[mask].abs().sum() > 0


def test_a_non_finite_gradient_gives_no_noise():
    embeddings = torch.randn(2, 3, 4)
    mask = torch.ones(2, 3, dtype=torch.bool)

    noise = adversarial_noise(
        lambda e: e.sum(1),
        lambda logits, target: (logits * float("nan")).sum(),
        embeddings,
        mask,
        torch.zeros(2, 4),
        k=1,
        step_size=1e-3,
        noise_var=1e-5,
        norm="inf",
        level="token",
        epsilon=1.0,
    )
    assert noise is None


# --- the model's second entry point --------------------------------------------------------


def test_perturbed_pass_applies_position_embeddings_and_layernorm_once(tiny_encoder):
    model = _model().eval()
    batch = _batch("rte", torch.tensor([0, 1, 0]))
    pieces = batch["tokens"]["tokens"]
    clean = model(**batch)["logits"]
    words = model.encoder.embed_words(pieces["token_ids"])
    again = model.perturbed_logits("rte", words, pieces["mask"], pieces["type_ids"])
    assert torch.allclose(clean, again, atol=1e-6)
    # The reference's way (the whole embedding output fed back in) gives other logits.
    bert = model.encoder.transformer
    full = bert.embeddings(input_ids=pieces["token_ids"], token_type_ids=pieces["type_ids"])
    doubled = model.perturbed_logits("rte", full, pieces["mask"], pieces["type_ids"])
    assert not torch.allclose(clean, doubled, atol=1e-3)


# --- the callback ------------------------------------------------------------------------------


def _callback(**kwargs) -> AdversarialTrainingCallback:
    params = Params({"type": "adversarial_training", **kwargs})
    return TrainerCallback.from_params(params, serialization_dir="unused")


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("adv_k", 0, "adv_k must be an integer >= 1"),
        ("adv_step_size", -1e-3, "adv_step_size must be a finite number >= 0"),
        ("adv_alpha", -1.0, "adv_alpha must be"),
        ("adv_noise_var", -1.0, "adv_noise_var must be"),
        ("adv_epsilon", 0.0, "adv_epsilon must be a finite number > 0"),
        ("adv_norm", "l3", "adv_norm must be one of ['inf', 'l2', 'l1']"),
        ("adv_norm_level", "word", "adv_norm_level must be one of"),
        ("bregman_beta", 1.0, "bregman_beta must be in [0, 1)"),
    ],
)
def test_bad_settings_fail_when_the_config_is_read(key, value, message):
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace(")", r"\)")):
        _callback(**{key: value})


def test_a_task_without_adv_loss_or_a_supervised_one_is_refused(tiny_encoder):
    model = _model()
    model.tasks["rte"].adv_loss = None
    with pytest.raises(ConfigurationError, match="Task 'rte' .* has no adv_loss"):
        AdversarialTrainingCallback.build_divergences(model)
    model.tasks["rte"].adv_loss = "cross_entropy"
    with pytest.raises(ConfigurationError, match="takes gold labels"):
        AdversarialTrainingCallback.build_divergences(model)


def test_each_task_gets_its_definition_adv_loss(tiny_encoder):
    divergences = AdversarialTrainingCallback.build_divergences(_model())
    assert isinstance(divergences["rte"], SymmetricKLLoss)
    assert isinstance(divergences["stsb"], MeanSquaredErrorLoss)


def _grads(model):
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize(
    "task,label",
    [("rte", torch.tensor([0, 1, 0])), ("stsb", torch.tensor([0.5, 3.0, 4.5]))],
)
def test_gradients_reach_the_parameters_and_not_the_noise(tiny_encoder, task, label):
    model = _model().train()
    callback = _callback(adv_alpha=1.0, adv_noise_var=1e-2)
    trainer = _fake_trainer(model)
    callback.on_start(trainer)
    outputs = model(**_batch(task, label))
    inputs = outputs["adversarial_inputs"]
    adversarial, noise_norm = callback.adversarial_loss(model, inputs)
    # The noise passes took gradients with respect to the noise only.
    assert all(p.grad is None for p in model.parameters())
    assert adversarial is not None and adversarial.item() > 0 and noise_norm > 0
    adversarial.backward()
    grads = _grads(model)
    embedding = "encoder.transformer.embeddings.word_embeddings.weight"
    assert grads[embedding].abs().sum() > 0  # through the unperturbed word embeddings
    assert grads[f"heads.{task}.output.weight"].abs().sum() > 0
    assert any("encoder.layer.1" in name and g.abs().sum() > 0 for name, g in grads.items())


def test_sequence_labelling_uses_a_per_token_divergence_over_real_tokens(tiny_encoder):
    model = _model("adversarial/conll2003.jsonnet").train()
    callback = _callback(adv_noise_var=1e-2)
    callback.on_start(_fake_trainer(model))
    label = torch.zeros(3, 7, dtype=torch.long)
    outputs = model(**_batch("conll2003", label))
    inputs = outputs["adversarial_inputs"]
    logits = inputs["logits"]
    compare = callback.divergence("conll2003", inputs["mask"])
    # A change at a padding position does not count; one at a real token does.
    moved = logits.detach().clone()
    moved[0, -1] += 5.0
    assert compare(moved, logits.detach()).item() == pytest.approx(0.0, abs=1e-7)
    moved[0, 0] += 5.0
    assert compare(moved, logits.detach()).item() > 0
    adversarial, _ = callback.adversarial_loss(model, inputs)
    assert adversarial is not None and adversarial.item() > 0


def test_non_finite_adversarial_term_is_skipped_counted_and_logged(tiny_encoder, caplog):
    model = _model().train()
    callback = _callback()
    trainer = _fake_trainer(model)
    callback.on_start(trainer)
    batch = _batch("rte", torch.tensor([0, 1, 1]))
    # Plain gradients of the task loss alone.
    model(**batch)["loss"].backward()
    plain = _grads(model)
    model.zero_grad()

    callback.divergences["rte"] = lambda logits, target, mask=None: (logits * math.nan).sum()
    with caplog.at_level("WARNING"):
        assert callback.on_backward(trainer, model(**batch), backward_called=False)
    assert callback.skipped_batches == 1
    assert "1 skipped so far" in caplog.text
    grads = _grads(model)
    assert grads.keys() == plain.keys()
    for name in plain:
        assert torch.equal(grads[name], plain[name]), name
    assert model.get_metrics()["adv_skipped_batches"] == 1.0
    assert callback.state_dict() == {"skipped_batches": 1}


def test_the_loss_is_divided_like_the_trainer_does_under_accumulation(tiny_encoder):
    model = _model().train()
    trainer = _fake_trainer(model, accumulation=3, batches=4)
    callback = _callback(adv_alpha=0.0)
    callback.on_start(trainer)
    assert callback.group_size(trainer) == 3
    trainer._batches_in_epoch_completed = 1
    assert callback.group_size(trainer) == 1  # the last group of 4 batches holds one

    batch = _batch("rte", torch.tensor([0, 1, 1]))
    model(**batch)["loss"].backward()
    plain = _grads(model)
    model.zero_grad()
    trainer._batches_in_epoch_completed = 0
    callback.on_backward(trainer, model(**batch), backward_called=False)
    for name, grad in _grads(model).items():
        assert torch.allclose(grad * 3, plain[name], atol=1e-7), name


# --- in a real trainer -------------------------------------------------------------------------


def _train(tmp_path, name, callback=None, accumulation=1, batch_size=4):
    config = _config("glue/rte.jsonnet")
    config["model"]["encoder"]["config_overrides"] = {
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    }
    config["model"]["tasks"][0]["dropout"] = 0.0
    config["data_loader"]["batch_size"] = batch_size
    config["trainer"]["num_gradient_accumulation_steps"] = accumulation
    config["trainer"]["callbacks"] = (
        [{"type": "adversarial_training", **callback}] if callback else []
    )
    config["trainer"]["num_epochs"] = 1
    config.pop("validation_data_path")
    config["trainer"].pop("validation_metric")
    model = train_model(Params(config), str(tmp_path / name))
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


@pytest.mark.slow
@pytest.mark.parametrize("accumulation", [1, 3])
def test_alpha_zero_updates_the_parameters_exactly_like_plain_training(
    tiny_encoder, tmp_path, monkeypatch, accumulation
):
    monkeypatch.setenv("MTDNN_SMOKE", "1")  # 16 examples: 4 batches of 4
    plain = _train(tmp_path, "plain", accumulation=accumulation)
    zero = _train(tmp_path, "zero", {"adv_alpha": 0.0, "adv_k": 2}, accumulation)
    adversarial = _train(tmp_path, "adv", {"adv_alpha": 1.0, "adv_noise_var": 1e-2}, accumulation)
    initial = _model("glue/rte.jsonnet").state_dict()
    assert plain.keys() == zero.keys()
    for name in plain:
        assert torch.equal(plain[name], zero[name]), name
    # The encoder starts from the same pretrained weights in every run.
    moved = [
        n for n in initial if n.startswith("encoder.") and not torch.equal(plain[n], initial[n])
    ]
    assert moved, "plain training changed no encoder parameter"
    assert any(not torch.equal(plain[n], adversarial[n]) for n in moved)
    metrics = json.loads((tmp_path / "adv" / "metrics.json").read_text())
    assert metrics["training_adv_loss"] > 0 and metrics["training_adv_noise_norm"] > 0
    assert metrics["training_adv_skipped_batches"] == 0


def test_bregman_teacher_adds_its_term_and_follows_the_parameters(tiny_encoder):
    model = _model().train()
    callback = _callback(bregman_mu=1.0, bregman_beta=0.75)
    trainer = _fake_trainer(model)
    callback.on_start(trainer)
    assert callback.teacher is not None and callback.teacher is not model
    assert not any(p.requires_grad for p in callback.teacher.parameters())
    name = "heads.rte.output.weight"
    start = dict(callback.teacher.named_parameters())[name].clone()
    with torch.no_grad():
        dict(model.named_parameters())[name].add_(1.0)  # as if an optimiser step moved it
    callback.on_batch(trainer, [], [], {}, 0, 1, is_training=True)
    moved = dict(callback.teacher.named_parameters())[name]
    assert torch.allclose(moved, 0.75 * start + 0.25 * (start + 1.0))
    # The teacher now differs from the model, so the proximal term is positive.
    batch = _batch("rte", torch.tensor([0, 1, 1]))
    callback.on_backward(trainer, model(**batch), backward_called=False)
    assert model.get_metrics()["adv_bregman_loss"] > 0
    # Its state goes into the checkpoint and back, also before on_start (as --recover does).
    state = callback.state_dict()
    fresh = _callback(bregman_mu=1.0)
    fresh.load_state_dict(state)
    fresh.on_start(_fake_trainer(_model().train()))
    assert fresh.skipped_batches == 0
    assert torch.equal(dict(fresh.teacher.named_parameters())[name], moved)


def test_without_bregman_there_is_no_teacher(tiny_encoder):
    callback = _callback()
    callback.on_start(_fake_trainer(_model()))
    assert callback.teacher is None and "teacher" not in callback.state_dict()
