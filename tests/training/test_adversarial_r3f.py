"""R3F (`method: "r3f"`): its noise, and for every head SMART supports (classification,
regression, tagging, ranking, SAN, span extraction): the term is finite, zero without noise, its
noisy copy runs stacked with the batch in the forward's one encoder call, and its gradients reach
the parameters through both the noisy and the clean outputs."""

import math

import pytest
import torch
from allennlp.common.checks import ConfigurationError

from mtdnn_allennlp.training.adversarial import r3f_noise
from tests.training.test_adversarial import _batch, _callback, _fake_trainer, _grads, _model
from tests.training.test_adversarial_heads import _case

EMBEDDING = "encoder.transformer.embeddings.word_embeddings.weight"


def _head_case(kind: str):
    """(model in training mode without dropout, batch, task, output layer) for one head type."""
    if kind == "classification":
        return _model().train(), _batch("rte", torch.tensor([0, 1, 0])), "rte", "output"
    if kind == "regression":
        return _model().train(), _batch("stsb", torch.tensor([0.5, 3.0, 4.5])), "stsb", "output"
    if kind == "tagging":
        model = _model("adversarial/conll2003.jsonnet").train()
        return (
            model,
            _batch("conll2003", torch.zeros(3, 7, dtype=torch.long)),
            "conll2003",
            "output",
        )
    return _case(kind)


HEADS = ["classification", "regression", "tagging", "ranking", "san", "span"]


def _r3f(**kwargs):
    return _callback(method="r3f", **kwargs)


# --- the noise ---------------------------------------------------------------------------------


@pytest.mark.parametrize("noise_type", ["normal", "uniform"])
def test_r3f_noise_has_the_stated_scale_and_leaves_padding_alone(noise_type):
    embeddings = torch.zeros(4, 50, 64)
    mask = torch.ones(4, 50, dtype=torch.bool)
    mask[0, -10:] = False
    sigma = 0.3
    generator = torch.Generator().manual_seed(0)
    noise = r3f_noise(embeddings, mask, noise_type, sigma, generator)
    assert noise[0, -10:].abs().sum() == 0
    real = noise[mask]
    if noise_type == "normal":
        # N(0, sigma^2): the sample std of 12160 values is within 3% of sigma.
        assert real.std().item() == pytest.approx(sigma, rel=0.03)
    else:
        # U(-sigma, sigma): bounded by sigma, std sigma / sqrt(3).
        assert real.abs().max().item() <= sigma
        assert real.std().item() == pytest.approx(sigma / math.sqrt(3), rel=0.03)
    assert real.mean().abs().item() < 0.02
    # The same generator state draws the same noise (a run resumed with --recover).
    again = r3f_noise(embeddings, mask, noise_type, sigma, torch.Generator().manual_seed(0))
    assert torch.equal(noise, again)


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("method", "fgsm", "method must be one of ['smart', 'r3f']"),
        ("r3f_noise_type", "laplace", "r3f_noise_type must be one of ['normal', 'uniform']"),
        ("r3f_sigma", -1e-5, "r3f_sigma must be a finite number >= 0"),
    ],
)
def test_bad_r3f_settings_fail_when_the_config_is_read(key, value, message):
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")):
        _callback(**{key: value})


def test_smart_stays_the_default_method():
    assert _callback().method == "smart"
    assert _r3f().r3f_noise_type == "normal" and _r3f().r3f_sigma == 1e-5


# --- every head --------------------------------------------------------------------------------


@pytest.mark.parametrize("noise_type", ["normal", "uniform"])
@pytest.mark.parametrize("kind", HEADS)
def test_r3f_term_is_finite_and_zero_without_noise(tiny_encoder, kind, noise_type):
    model, batch, _, _ = _head_case(kind)

    def term(**settings):
        callback = _r3f(r3f_noise_type=noise_type, **settings)
        callback.on_start(_fake_trainer(model))  # gives the model its noisy copy
        return callback.adversarial_loss(model, model(**batch)["adversarial_inputs"])

    zero, zero_norm = term(r3f_sigma=0.0)
    # No noise, no dropout: the noisy copy is the batch (SAN replays the clean steps).
    assert zero_norm == 0.0
    assert zero is not None and zero.item() == pytest.approx(0.0, abs=1e-6)
    moved, noise_norm = term(r3f_sigma=1e-1)
    assert moved is not None and math.isfinite(moved.item()) and moved.item() > 1e-7
    assert 0 < noise_norm <= (1e-1 if noise_type == "uniform" else 1.0)


class EncodedRows:
    """The rows (sequences) of each shared-encoder call."""

    def __init__(self, model) -> None:
        self.calls: list = []
        self.handle = model.encoder.register_forward_hook(self._seen)

    def _seen(self, module, args, output) -> None:
        self.calls.append(output.shape[0])


@pytest.mark.parametrize("kind", HEADS)
def test_r3f_stacks_its_noisy_copy_in_the_forward_encoder_call_and_smart_adds_two(
    tiny_encoder, kind
):
    """R3F's noisy pass is the batch's second half in the forward's one encoder call (no extra
    call); SMART's ascent step and adversarial pass are two more calls in on_backward."""
    model, batch, _, _ = _head_case(kind)
    trainer = _fake_trainer(model)
    forward_rows, backward_calls = {}, {}
    for method in ("r3f", "smart"):
        callback = _callback(method=method, adv_k=1)
        callback.on_start(trainer)
        model.zero_grad()
        rows = EncodedRows(model)
        outputs = model(**batch)
        forward_rows[method] = list(rows.calls)
        callback.on_backward(trainer, outputs, backward_called=False)
        backward_calls[method] = len(rows.calls) - len(forward_rows[method])
        rows.handle.remove()
        assert callback.skipped_batches == 0
    assert len(forward_rows["r3f"]) == len(forward_rows["smart"]) == 1
    assert forward_rows["r3f"][0] == 2 * forward_rows["smart"][0]
    assert backward_calls == {"r3f": 0, "smart": 2}


def test_the_model_runs_no_noisy_copy_once_training_ends(tiny_encoder):
    model, batch, _, _ = _head_case("classification")
    trainer = _fake_trainer(model)
    callback = _r3f()
    callback.on_start(trainer)
    assert "noisy_logits" in model(**batch)["adversarial_inputs"]
    callback.on_end(trainer)
    assert model.noisy_copy is None
    assert "noisy_logits" not in model(**batch)["adversarial_inputs"]


def test_r3f_without_the_noisy_copy_is_refused_with_the_reason(tiny_encoder):
    model, batch, _, _ = _head_case("classification")
    callback = _r3f()
    callback.on_start(_fake_trainer(model))
    model.noisy_copy = None
    with pytest.raises(ConfigurationError, match="no noisy copy"):
        callback.adversarial_loss(model, model(**batch)["adversarial_inputs"])


@pytest.mark.parametrize("kind", HEADS)
def test_r3f_gradients_reach_the_parameters_through_both_passes(tiny_encoder, kind):
    model, batch, task, layer = _head_case(kind)
    callback = _r3f(r3f_sigma=1e-1)
    callback.on_start(_fake_trainer(model))
    inputs = model(**batch)["adversarial_inputs"]
    loss, _ = callback.adversarial_loss(model, inputs)
    assert all(p.grad is None for p in model.parameters())  # nothing ran a backward pass yet
    loss.backward()
    grads = _grads(model)
    assert grads[f"heads.{task}.{layer}.weight"].abs().sum() > 0
    assert any("encoder.layer.1" in name and g.abs().sum() > 0 for name, g in grads.items())
    # The noisy pass starts from detached embeddings: the embedding matrix gets the term's
    # gradient only through the clean logits, which are not detached (R3F's symmetric term).
    assert grads[EMBEDDING].abs().sum() > 0
    model.zero_grad()
    noisy_only = callback.divergence(task, inputs.get("output_mask", inputs["mask"]))
    perturbed = model.perturbed_logits(
        task,
        inputs["word_embeddings"].detach() + 0.1,
        inputs["mask"],
        inputs.get("type_ids"),
        **(inputs.get("head_inputs") or {}),
    )
    noisy_only(perturbed, inputs["logits"].detach()).backward()
    assert EMBEDDING not in _grads(model) or _grads(model)[EMBEDDING].abs().sum() == 0


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_r3f_alpha_weights_the_term_in_the_combined_backward(tiny_encoder, kind):
    """on_backward backpropagates task loss + alpha * loss_weight * r3f term: the gradient with
    alpha = 2 minus the one with alpha = 0 is twice that with alpha = 1 minus alpha = 0 (same
    noise: the generator is seeded by the batch's position)."""
    model, batch, task, layer = _head_case(kind)
    trainer = _fake_trainer(model)

    def gradient(alpha: float) -> torch.Tensor:
        callback = _r3f(adv_alpha=alpha, r3f_sigma=1e-1)
        callback.on_start(trainer)
        model.zero_grad()
        callback.on_backward(trainer, model(**batch), backward_called=False)
        return model.get_parameter(f"heads.{task}.{layer}.weight").grad.clone()

    plain, one, two = gradient(0.0), gradient(1.0), gradient(2.0)
    assert (one - plain).abs().sum() > 0
    # The differences cancel most of gradients of |plain|'s size, so float rounding in them
    # scales with |plain| (the full suite, whose kernels round differently, showed 1e-4 of the
    # differences); a term not linear in alpha would miss by the difference itself (~0.2).
    tolerance = 1e-4 * plain.abs().max().item()
    assert torch.allclose(two - plain, 2 * (one - plain), rtol=0, atol=tolerance)
    assert not torch.allclose(two - plain, 4 * (one - plain), rtol=0, atol=tolerance)
