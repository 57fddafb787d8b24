"""Adversarial training with the ranking, SAN and span-extraction heads: where gradients go,
zero divergence when the perturbed outputs equal the clean ones, masked positions, the SAN
head's replayed steps, and the divergence per task type."""

import pytest
import torch
import torch.nn.functional as F

from mtdnn_allennlp.losses import MASKED_SCORE, SpanSymmetricKLLoss, SymmetricKLLoss
from mtdnn_allennlp.training.adversarial import AdversarialTrainingCallback, norm_of, project
from tests.training.test_adversarial import _batch, _callback, _fake_trainer, _grads, _model

EMBEDDING = "encoder.transformer.embeddings.word_embeddings.weight"


def _ranking_batch(seed: int = 0):
    """3 questions with 3, 3 and 2 candidates (the last candidate of the third is padding)."""
    generator = torch.Generator().manual_seed(seed)
    batch, candidates, length = 3, 3, 6
    token_ids = torch.randint(5, 500, (batch, candidates, length), generator=generator)
    mask = torch.ones(batch, candidates, length, dtype=torch.bool)
    mask[2, 2] = False  # a padding candidate
    mask[0, 1, -2:] = False  # a shorter pair
    token_ids[~mask] = 0
    type_ids = torch.zeros_like(token_ids)
    type_ids[..., length // 2 :] = 1
    tokens = {"tokens": {"token_ids": token_ids, "mask": mask, "type_ids": type_ids}}
    return {"tokens": tokens, "task": ["qnli_ranking"] * batch, "label": torch.tensor([0, 2, 1])}


def _span_batch(seed: int = 0):
    """2 windows of 8 pieces: [CLS] + 2 question pieces + context; the second has padding."""
    generator = torch.Generator().manual_seed(seed)
    batch, length = 2, 8
    token_ids = torch.randint(5, 500, (batch, length), generator=generator)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[1, -2:] = False
    token_ids[~mask] = 0
    type_ids = torch.zeros_like(token_ids)
    type_ids[:, 3:] = 1
    answer_mask = torch.zeros(batch, length, dtype=torch.bool)
    answer_mask[:, 0] = True  # [CLS]: no answer
    answer_mask[:, 3:] = True  # the context (padding is cut by the attention mask)
    tokens = {"tokens": {"token_ids": token_ids, "mask": mask, "type_ids": type_ids}}
    return {
        "tokens": tokens,
        "task": ["squad_v1"] * batch,
        "label": torch.tensor([[3, 4], [5, 5]]),
        "answer_mask": answer_mask,
    }


def _san_model(step_dropout: float = 0.5):
    model = _model("adversarial/rte_san.jsonnet")
    model.heads["rte"].step_dropout = step_dropout
    return model.train()


CASES = {
    "ranking": ("adversarial/qnli_ranking.jsonnet", _ranking_batch, "qnli_ranking", "output"),
    "san": ("adversarial/rte_san.jsonnet", None, "rte", "classifier"),
    "span": ("adversarial/squad_v1.jsonnet", _span_batch, "squad_v1", "output"),
}


def _case(kind: str):
    config, make_batch, task, layer = CASES[kind]
    if kind == "san":
        return _san_model(), _batch("rte", torch.tensor([0, 1, 0])), task, layer
    return _model(config).train(), make_batch(), task, layer


@pytest.mark.parametrize("kind", sorted(CASES))
def test_gradients_reach_the_parameters_and_not_the_noise(tiny_encoder, kind):
    model, batch, task, layer = _case(kind)
    callback = _callback(adv_noise_var=1e-2, adv_step_size=1e-1)
    callback.on_start(_fake_trainer(model))
    inputs = model(**batch)["adversarial_inputs"]
    adversarial, noise_norm = callback.adversarial_loss(model, inputs)
    # The ascent steps took gradients with respect to the noise only.
    assert all(p.grad is None for p in model.parameters())
    assert adversarial is not None and adversarial.item() > 0 and noise_norm > 0
    adversarial.backward()
    grads = _grads(model)
    assert grads[EMBEDDING].abs().sum() > 0
    assert grads[f"heads.{task}.{layer}.weight"].abs().sum() > 0
    assert any("encoder.layer.1" in name and g.abs().sum() > 0 for name, g in grads.items())


@pytest.mark.parametrize("kind", sorted(CASES))
def test_no_perturbation_gives_a_zero_divergence(tiny_encoder, kind):
    """Without noise (no initial noise, steps of length 0) and without dropout, the perturbed
    pass reproduces the clean one: also the SAN head's randomly kept steps and the span head's
    answer mask, which the perturbed pass gets from the clean one."""
    model, batch, task, _ = _case(kind)
    callback = _callback(adv_noise_var=0.0, adv_step_size=0.0)
    callback.on_start(_fake_trainer(model))
    inputs = model(**batch)["adversarial_inputs"]
    adversarial, noise_norm = callback.adversarial_loss(model, inputs)
    assert noise_norm == 0.0
    assert adversarial is not None and adversarial.item() == pytest.approx(0.0, abs=1e-6)
    # And a real perturbation moves the outputs.
    noisy = _callback(adv_noise_var=1e-2, adv_step_size=1e-1)
    noisy.on_start(_fake_trainer(model))
    moved, _ = noisy.adversarial_loss(model, inputs)
    assert moved is not None and moved.item() > 1e-6


def test_each_head_gets_its_task_types_divergence(tiny_encoder):
    for kind, expected in (("ranking", SymmetricKLLoss), ("span", SpanSymmetricKLLoss)):
        model, _, task, _ = _case(kind)
        assert isinstance(AdversarialTrainingCallback.build_divergences(model)[task], expected)


# --- ranking ----------------------------------------------------------------------------------


def test_ranking_padding_candidates_get_no_noise_and_sentences_are_candidate_pairs(tiny_encoder):
    model, batch, task, _ = _case("ranking")
    callback = _callback(adv_noise_var=1e-2, adv_norm="l2", adv_norm_level="sentence")
    callback.on_start(_fake_trainer(model))
    inputs = model(**batch)["adversarial_inputs"]
    assert inputs["word_embeddings"].shape[:3] == (3, 3, 6)
    seen = []
    original = model.perturbed_logits

    def spy(name, embeddings, *args, **kwargs):
        seen.append(embeddings.detach() - inputs["word_embeddings"].detach())
        return original(name, embeddings, *args, **kwargs)

    model.perturbed_logits = spy
    adversarial, noise_norm = callback.adversarial_loss(model, inputs)
    assert adversarial is not None and noise_norm <= 1.0 + 1e-5
    noise = seen[-1]
    assert noise[2, 2].abs().sum() == 0  # the padding candidate
    assert noise[0, 1, -2:].abs().sum() == 0  # the padding pieces of a real pair
    assert noise[0, 0].abs().sum() > 0
    # Sentence level: one norm per (question, candidate) pair, each within the ball.
    assert norm_of(noise, "l2", "sentence").shape == (9,)
    big = torch.randn(3, 3, 6, 4) * 10
    sizes = norm_of(project(big, "l2", "sentence", 0.5), "l2", "sentence")
    assert torch.allclose(sizes, torch.full((9,), 0.5), atol=1e-5)


# --- SAN --------------------------------------------------------------------------------------


def test_san_perturbed_pass_replays_the_clean_pass_steps(tiny_encoder):
    model = _san_model(step_dropout=0.5)
    _callback().on_start(_fake_trainer(model))
    batch = _batch("rte", torch.tensor([0, 1, 0]))
    torch.manual_seed(1)
    inputs = model(**batch)["adversarial_inputs"]
    kept = inputs["head_inputs"]["step_weights"]
    assert kept.shape == (3, 5) and (kept.sum(-1) >= 1).all() and (kept == 0).any()
    args = ("rte", inputs["word_embeddings"], inputs["mask"], inputs["type_ids"])
    replayed = model.perturbed_logits(*args, **inputs["head_inputs"])
    assert torch.allclose(replayed, inputs["logits"], atol=1e-6)
    # Drawing new steps instead would make the passes differ without any perturbation.
    redrawn = model.perturbed_logits(*args)
    assert not torch.allclose(redrawn, inputs["logits"], atol=1e-4)
    # At inference nothing is dropped and nothing is kept for a replay.
    model.eval()
    model(**batch)
    assert model.heads["rte"].replay_inputs() == {}


# --- span extraction --------------------------------------------------------------------------


def _symmetric_kl_by_hand(p_logits, q_logits):
    log_p, log_q = F.log_softmax(p_logits, -1), F.log_softmax(q_logits, -1)
    return float(((log_q.exp() - log_p.exp()) * (log_q - log_p)).sum())


def test_span_divergence_is_symmetric_kl_over_starts_and_over_ends():
    torch.manual_seed(0)
    clean, perturbed = torch.randn(2, 6, 2), torch.randn(2, 6, 2)
    mask = torch.tensor([[1, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    loss = SpanSymmetricKLLoss()
    expected = []
    for row in range(2):
        keep = mask[row]
        for which in (0, 1):  # start, end: each a distribution over the kept positions
            expected.append(
                _symmetric_kl_by_hand(perturbed[row, keep, which], clean[row, keep, which])
            )
    value = loss(perturbed, clean, mask)
    assert value.item() == pytest.approx(sum(expected) / 4, rel=1e-5)
    assert loss(clean, clean, mask).item() == pytest.approx(0.0, abs=1e-7)
    # Symmetric in its arguments.
    assert loss(clean, perturbed, mask).item() == pytest.approx(value.item(), rel=1e-5)


def test_span_divergence_ignores_masked_positions():
    torch.manual_seed(0)
    clean = torch.randn(2, 6, 2)
    mask = torch.tensor([[1, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    loss = SpanSymmetricKLLoss()
    moved = clean.clone()
    moved[0, 1] += 7.0  # masked: no change
    moved[1, 4:, 1] -= 3.0
    assert loss(moved, clean, mask).item() == pytest.approx(0.0, abs=1e-7)
    moved[1, 2, 0] += 1.0  # a valid start position
    assert loss(moved, clean, mask).item() > 1e-4
    # The head's own masking (MASKED logits) is also neutral, even without a mask.
    masked = clean.masked_fill(~mask.unsqueeze(-1), MASKED_SCORE)
    assert loss(masked, masked.clone()).item() == pytest.approx(0.0, abs=1e-7)


def test_span_perturbed_pass_keeps_the_answer_mask(tiny_encoder):
    model, batch, _, _ = _case("span")
    _callback().on_start(_fake_trainer(model))
    inputs = model(**batch)["adversarial_inputs"]
    allowed = batch["answer_mask"] & batch["tokens"]["tokens"]["mask"]
    assert torch.equal(inputs["output_mask"], allowed)
    assert torch.equal(inputs["head_inputs"]["answer_mask"], batch["answer_mask"])
    perturbed = model.perturbed_logits(
        "squad_v1",
        inputs["word_embeddings"] + 0.1,
        inputs["mask"],
        inputs["type_ids"],
        **inputs["head_inputs"],
    )
    # The question pieces stay masked in the perturbed pass, as in the clean one.
    assert (perturbed[:, 1:3] == inputs["logits"][:, 1:3]).all()
    assert (perturbed[~allowed] <= -1e3).all() and (perturbed[allowed] > -1e3).all()


# --- the distillation stage -------------------------------------------------------------------


def test_distillation_adds_the_adversarial_term_to_the_kd_loss(tiny_encoder):
    model = _model("adversarial/student_small_transformer.jsonnet").train()
    assert type(model.encoder).__name__ == "TransformerStudent"
    batch = _batch("rte", torch.tensor([0, 1, 1]))
    soft = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]).log()
    trainer = _fake_trainer(model)

    def gradients(alpha: float):
        model.zero_grad()
        callback = _callback(adv_alpha=alpha, adv_noise_var=1e-2, adv_step_size=1e-1)
        callback.on_start(trainer)
        torch.manual_seed(0)
        outputs = model(**batch, soft_target=soft)
        hard = F.cross_entropy(outputs["logits"].detach(), batch["label"])
        kd = F.kl_div(
            F.log_softmax(outputs["logits"].detach(), -1), soft, log_target=True, reduction="sum"
        ) / len(soft)
        callback.on_backward(trainer, outputs, backward_called=False)
        return _grads(model), callback.monitors, hard.item(), kd.item()

    plain_kd, _, _, _ = gradients(0.0)
    # The KD loss alone, backpropagated directly: what alpha = 0 must reproduce.
    model.zero_grad()
    torch.manual_seed(0)
    model(**batch, soft_target=soft)["loss"].backward()
    direct = _grads(model)
    for name, grad in direct.items():
        assert torch.allclose(plain_kd[name], grad, atol=1e-7), name

    adversarial, monitors, hard, kd = gradients(1.0)
    # The callback's clean term is hard + soft (the paper's 0.5 / 0.5), not the hard loss.
    assert monitors["adv_clean_loss"]() == pytest.approx(0.5 * hard + 0.5 * kd, rel=1e-4)
    assert abs(kd - hard) > 1e-3
    assert monitors["adv_loss"]() > 0
    head = "heads.rte.output.weight"
    assert not torch.allclose(adversarial[head], plain_kd[head])
