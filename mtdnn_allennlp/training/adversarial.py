"""SMART-style adversarial training (Jiang et al. 2020; MT-DNN's `--adv_train`) as a callback.

For each training batch the model's clean pass has already run. The callback then
1. draws noise of variance `adv_noise_var` on the word-embedding output (padding excluded);
2. takes `adv_k` ascent steps: the gradient of the task's `adv_loss` (clean logits, detached, as
   the target) with respect to the noise only, normalised in the chosen norm, times
   `adv_step_size`, added to the noise, which is then projected onto the norm ball of radius
   `adv_epsilon` (per token or per sentence);
3. runs the adversarial pass from the perturbed word embeddings, through the encoder's own
   position/type embeddings and LayerNorm (applied once), and backpropagates
   `task_loss + adv_alpha * loss_weight * adv_loss` to the parameters in one backward pass.

The clean pass is reused (its logits are the target, its word embeddings the base), so a step
costs the clean pass plus `adv_k` noise passes (forward and a backward to the noise alone, which
skips the parameter gradients) plus one adversarial pass.

`method: "r3f"` is R3F instead (Aghajanyan et al. 2020, "Better Fine-Tuning by Reducing
Representational Collapse"): random noise from N(0, sigma^2) or U(-sigma, sigma) on the word
embeddings, no ascent step, and `adv_alpha` (R3F's lambda) times the task's `adv_loss` between
the noisy and the clean outputs, the clean ones *not* detached (R3F's symmetric term trains both
sides). One extra forward pass and its backward: about 2x a plain step instead of SMART's 2.7x.
"""

import contextlib
import logging
import math
from copy import deepcopy
from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.training.callbacks.callback import TrainerCallback

from mtdnn_allennlp.common.registered_names import register
from mtdnn_allennlp.common.running_mean import RunningMean
from mtdnn_allennlp.compat import allennlp_internals
from mtdnn_allennlp.losses import TaskLoss

logger = logging.getLogger(__name__)

METHODS = ("smart", "r3f")
R3F_NOISE_TYPES = ("normal", "uniform")
NORMS = ("inf", "l2", "l1")
LEVELS = ("token", "sentence")
# Losses that take gold class indices: they cannot compare two sets of outputs.
SUPERVISED_ONLY = ("cross_entropy", "sequence_cross_entropy")
TINY = 1e-12


# --- the perturbation: pure functions, tested against hand computations --------------------


def _rows(tensor: torch.Tensor, level: str) -> torch.Tensor:
    """(..., length, hidden) as rows the norm is taken over: one per token or per sentence.
    A ranking batch, (batch, candidates, length, hidden), has one sentence per candidate pair."""
    if level == "token":
        return tensor.reshape(-1, tensor.size(-1))
    return tensor.reshape(-1, tensor.size(-2) * tensor.size(-1))


def norm_of(tensor: torch.Tensor, norm: str, level: str) -> torch.Tensor:
    """The norm of each token's or each sentence's vector (one value per row)."""
    rows = _rows(tensor, level)
    if norm == "inf":
        return rows.abs().amax(-1)
    if norm == "l2":
        return rows.norm(dim=-1)
    return rows.abs().sum(-1)


def normalize(grad: torch.Tensor, norm: str, level: str) -> torch.Tensor:
    """The ascent direction: `grad` divided by its norm, so each row has norm 1 (0 stays 0)."""
    rows = _rows(grad, level)
    scale = norm_of(grad, norm, level).clamp(min=TINY).unsqueeze(-1)
    return (rows / scale).reshape(grad.shape)


def _project_l1_rows(rows: torch.Tensor, radius: float) -> torch.Tensor:
    """Euclidean projection of each row onto the l1 ball (Duchi et al. 2008, sort-based)."""
    magnitude = rows.abs()
    inside = magnitude.sum(-1, keepdim=True) <= radius
    ordered, _ = magnitude.sort(dim=-1, descending=True)
    excess = ordered.cumsum(-1) - radius
    ranks = torch.arange(1, rows.size(-1) + 1, device=rows.device, dtype=rows.dtype)
    # The largest k with ordered[k] > (cumsum[k] - radius) / k sets the threshold.
    count = (ordered - excess / ranks > 0).sum(-1, keepdim=True).clamp(min=1)
    threshold = excess.gather(-1, count - 1) / count.to(rows.dtype)
    shrunk = rows.sign() * (magnitude - threshold).clamp(min=0)
    return torch.where(inside, rows, shrunk)


def project(delta: torch.Tensor, norm: str, level: str, radius: float) -> torch.Tensor:
    """The closest point to `delta` (per row) in the ball `||x|| <= radius` of the norm."""
    if norm == "inf":
        return delta.clamp(-radius, radius)
    rows = _rows(delta, level)
    if norm == "l2":
        scale = (radius / rows.norm(dim=-1, keepdim=True).clamp(min=TINY)).clamp(max=1.0)
        return (rows * scale).reshape(delta.shape)
    return _project_l1_rows(rows, radius).reshape(delta.shape)


def initial_noise(
    word_embeddings: torch.Tensor,
    mask: torch.Tensor,
    variance: float,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Gaussian noise of the given variance on real tokens, zero on padding."""
    noise = torch.randn(
        word_embeddings.shape,
        generator=generator,
        device=word_embeddings.device,
        dtype=word_embeddings.dtype,
    )
    return noise * math.sqrt(variance) * mask.unsqueeze(-1).to(noise.dtype)


def r3f_noise(
    word_embeddings: torch.Tensor,
    mask: torch.Tensor,
    noise_type: str,
    sigma: float,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """R3F's noise: N(0, sigma^2) ("normal") or U(-sigma, sigma) ("uniform") on real tokens, zero
    on padding (whose outputs the attention mask ignores anyway)."""
    shape, device, dtype = word_embeddings.shape, word_embeddings.device, word_embeddings.dtype
    if noise_type == "normal":
        noise = torch.randn(shape, generator=generator, device=device, dtype=dtype) * sigma
    else:
        uniform = torch.rand(shape, generator=generator, device=device, dtype=dtype)
        noise = (2 * uniform - 1) * sigma
    return noise * mask.unsqueeze(-1).to(dtype)


def adversarial_noise(
    logits_from: Any,
    divergence: Any,
    word_embeddings: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    k: int,
    step_size: float,
    noise_var: float,
    norm: str,
    level: str,
    epsilon: float,
    generator: Optional[torch.Generator] = None,
    loss_scale: float = 1.0,
) -> Optional[torch.Tensor]:
    """The perturbation after `k` projected ascent steps, detached; None if a gradient was not
    finite.

    `logits_from(embeddings)` runs the model; `divergence(logits, target)` is the adversarial
    loss. Only the noise gets gradients here (`autograd.grad`), never the parameters. Under
    fp16 AMP, `loss_scale` is the trainer's GradScaler scale: the divergence of a tiny
    perturbation has gradients that underflow in float16 unless scaled, and since each step is
    normalised, the scale changes nothing else.
    """
    base = word_embeddings.detach()
    keep = mask.unsqueeze(-1).to(base.dtype)
    noise = initial_noise(base, mask, noise_var, generator)
    for _ in range(k):
        noise.requires_grad_(True)
        loss = divergence(logits_from(base + noise), target)
        (grad,) = torch.autograd.grad(loss * loss_scale, noise)
        if not torch.isfinite(grad).all():
            return None
        step = normalize(grad * keep, norm, level) * step_size
        noise = project(noise.detach() + step, norm, level, epsilon) * keep
    return noise.detach()


def _summed_over_workers(values: List[float]) -> List[float]:
    """`values` summed over the distributed workers (as they are without distributed training).

    Every worker must call this the same number of times: it is a collective call."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    torch.distributed.all_reduce(tensor)
    return tensor.tolist()


class WorkerMean(RunningMean):
    """A running mean over every distributed worker's batches since the last reset; None before
    the first value.

    In distributed training each call sums (total, count) over the workers unconditionally,
    also when this worker has no value (e.g. it skipped every adversarial term so far): a
    collective call made only by the workers that have a value would leave the others waiting.
    The callback creates its monitors on every worker at the start, so all workers make the
    same calls.
    """

    def __call__(self, reset: bool = False) -> Optional[float]:
        total, count = _summed_over_workers([self.total, float(self.count)])
        value = total / count if count else None
        if reset:
            self.total, self.count = 0.0, 0
        return value


def amp_autocast(trainer, device: torch.device):
    """The trainer's `use_amp` autocast (float16), on `device`'s type; a no-op without AMP."""
    if not allennlp_internals.uses_amp(trainer):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.float16)


@register(TrainerCallback, "mtdnn_adversarial_training", deprecated_name="adversarial_training")
class AdversarialTrainingCallback(TrainerCallback):
    """SMART (or R3F) adversarial regularisation for every task of an `mtdnn` model (see module
    doc).

    It does the backward pass itself, so it must be the only callback that does: do not combine
    it with `use_amp` through another backward callback (it handles the trainer's AMP scaler).

    # Parameters

    serialization_dir : `str`
        Given by the trainer.
    method : `str`, optional (default = `"smart"`)
        "smart": noise improved by `adv_k` ascent steps; "r3f": random noise only
        (`r3f_noise_type`, `r3f_sigma`), one extra pass. The `adv_k`, `adv_step_size`,
        `adv_noise_var` and `adv_epsilon` keys are SMART's and unused by "r3f"; `adv_norm` and
        `adv_norm_level` only say how `adv_noise_norm` is measured there.
    adv_alpha : `float`, optional (default = `1.0`)
        Weight of the adversarial loss (R3F's lambda). 0 leaves the parameter updates those of
        plain training.
    r3f_noise_type : `str`, optional (default = `"normal"`)
        R3F's noise: "normal", N(0, r3f_sigma^2), or "uniform", U(-r3f_sigma, r3f_sigma).
    r3f_sigma : `float`, optional (default = `1e-5`)
        R3F's noise scale (the paper's default): the standard deviation, or the half-width.
    adv_k : `int`, optional (default = `1`)
        Ascent steps on the noise.
    adv_step_size : `float`, optional (default = `1e-3`)
        Length of each ascent step, in the chosen norm (SMART's eta).
    adv_noise_var : `float`, optional (default = `1e-5`)
        Variance of the initial Gaussian noise (SMART's sigma^2; the reference used this value
        as the standard deviation).
    adv_epsilon : `float`, optional (default = `1.0`)
        Radius of the norm ball the noise is projected onto after each step. The reference
        normalised the noise to norm 1, so 1.0 bounds it by the reference's size.
    adv_norm : `str`, optional (default = `"inf"`)
        "inf", "l2" or "l1": the norm of the step and of the projection.
    adv_norm_level : `str`, optional (default = `"token"`)
        "token": each token's vector is normalised and projected on its own; "sentence": each
        example's whole (length x hidden) perturbation.
    bregman_mu : `float`, optional (default = `0.0`)
        Weight of SMART's Bregman proximal-point term: the task's `adv_loss` between the model's
        clean outputs and those of a momentum teacher (an exponential moving average of the
        parameters). 0 turns it off and keeps no teacher.
    bregman_beta : `float`, optional (default = `0.99`)
        Momentum of the teacher: after each optimiser step it moves `1 - beta` of the way to
        the current parameters.
    """

    def __init__(
        self,
        serialization_dir: str,
        method: str = "smart",
        adv_alpha: float = 1.0,
        r3f_noise_type: str = "normal",
        r3f_sigma: float = 1e-5,
        adv_k: int = 1,
        adv_step_size: float = 1e-3,
        adv_noise_var: float = 1e-5,
        adv_epsilon: float = 1.0,
        adv_norm: str = "inf",
        adv_norm_level: str = "token",
        bregman_mu: float = 0.0,
        bregman_beta: float = 0.99,
    ) -> None:
        super().__init__(serialization_dir)
        problems = []
        if not isinstance(adv_k, int) or adv_k < 1:
            problems.append(f"adv_k must be an integer >= 1, got {adv_k!r}")
        for key, value in (
            ("adv_alpha", adv_alpha),
            ("adv_step_size", adv_step_size),
            ("adv_noise_var", adv_noise_var),
            ("r3f_sigma", r3f_sigma),
            ("bregman_mu", bregman_mu),
        ):
            if not math.isfinite(value) or value < 0:
                problems.append(f"{key} must be a finite number >= 0, got {value!r}")
        if not math.isfinite(adv_epsilon) or adv_epsilon <= 0:
            problems.append(f"adv_epsilon must be a finite number > 0, got {adv_epsilon!r}")
        if not 0.0 <= bregman_beta < 1.0:
            problems.append(f"bregman_beta must be in [0, 1), got {bregman_beta!r}")
        if method not in METHODS:
            problems.append(f"method must be one of {list(METHODS)}, got {method!r}")
        if r3f_noise_type not in R3F_NOISE_TYPES:
            problems.append(
                f"r3f_noise_type must be one of {list(R3F_NOISE_TYPES)}, got {r3f_noise_type!r}"
            )
        if adv_norm not in NORMS:
            problems.append(f"adv_norm must be one of {list(NORMS)}, got {adv_norm!r}")
        if adv_norm_level not in LEVELS:
            problems.append(f"adv_norm_level must be one of {list(LEVELS)}, got {adv_norm_level!r}")
        if problems:
            raise ConfigurationError(
                "trainer.callbacks 'mtdnn_adversarial_training': "
                + "; ".join(problems)
                + ". Fix these keys in the callback's entry of the config."
            )
        self.method = method
        self.adv_alpha = adv_alpha
        self.r3f_noise_type = r3f_noise_type
        self.r3f_sigma = r3f_sigma
        self.adv_k = adv_k
        self.adv_step_size = adv_step_size
        self.adv_noise_var = adv_noise_var
        self.adv_epsilon = adv_epsilon
        self.adv_norm = adv_norm
        self.adv_norm_level = adv_norm_level
        self.bregman_mu = bregman_mu
        self.bregman_beta = bregman_beta
        self.divergences: Dict[str, TaskLoss] = {}
        self.skipped_batches = 0
        self.teacher: Optional[torch.nn.Module] = None
        self._pending_teacher_state: Optional[Dict[str, torch.Tensor]] = None
        self._batches_in_group = 0
        self.monitors = {
            "adv_clean_loss": WorkerMean(),
            "adv_loss": WorkerMean(),
            "adv_noise_norm": WorkerMean(),
        }
        if bregman_mu > 0:
            self.monitors["adv_bregman_loss"] = WorkerMean()

    # --- set-up ---------------------------------------------------------------------------

    @staticmethod
    def build_divergences(model: Any) -> Dict[str, TaskLoss]:
        """Each task's adversarial loss, from its definition; a ConfigurationError if missing."""
        tasks = getattr(model, "tasks", None)
        if not isinstance(tasks, dict) or not hasattr(model, "perturbed_logits"):
            raise ConfigurationError(
                "The 'mtdnn_adversarial_training' callback needs the 'mtdnn' model "
                f"(got {type(model).__name__})."
            )
        divergences = {}
        for name, task in tasks.items():
            spec = task.adv_loss
            loss_name = spec if isinstance(spec, str) else (spec or {}).get("type")
            if not loss_name:
                raise ConfigurationError(
                    f"Task '{name}' ({task.task_type}) has no adv_loss and its task type has no "
                    "default: set adv_loss in its task definition (e.g. 'symmetric_kl' or 'mse')."
                )
            if loss_name in SUPERVISED_ONLY:
                raise ConfigurationError(
                    f"Task '{name}': adv_loss '{loss_name}' takes gold labels and cannot compare "
                    "clean and perturbed outputs; use 'symmetric_kl', 'kl_divergence', "
                    "'js_divergence', 'hellinger' or 'mse'."
                )
            divergences[name] = task.build_loss("adv_loss")
        return divergences

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        super().on_start(trainer, is_primary=is_primary, **kwargs)
        model = trainer.model
        self.divergences = self.build_divergences(model)
        model.noisy_copy = None  # a callback of an earlier run is not copied into the teacher
        if self.bregman_mu > 0:
            # Copied without the monitors, which point back at callbacks and the trainer.
            monitors, model.training_monitors = model.training_monitors, {}
            self.teacher = deepcopy(model)
            model.training_monitors = monitors
            for parameter in self.teacher.parameters():
                parameter.requires_grad_(False)
            if self._pending_teacher_state is not None:
                self.teacher.load_state_dict(self._pending_teacher_state)
                self._pending_teacher_state = None
        model.expose_adversarial_inputs = True
        # R3F's noisy pass runs inside the model's forward, stacked with the clean batch.
        model.noisy_copy = self.r3f_noise_of_batch if self.method == "r3f" else None
        model.training_monitors.update(self.monitors)
        model.training_monitors["adv_skipped_batches"] = self.skipped_monitor

    def skipped_monitor(self, reset: bool) -> Optional[float]:
        # A training statistic: not shown among the validation metrics. Every worker is in the
        # same mode, so all of them make the collective call or none does.
        if self.trainer is None or not self.trainer.model.training:
            return None
        (skipped,) = _summed_over_workers([float(self.skipped_batches)])
        return skipped

    # --- each batch -----------------------------------------------------------------------

    @staticmethod
    def group_size(trainer) -> int:
        """How many batches the current gradient-accumulation group holds (the last of an epoch
        may hold fewer), as the trainer divides each batch's loss by it."""
        steps = allennlp_internals.gradient_accumulation_steps(trainer)
        try:
            batches = len(trainer.data_loader)
        except TypeError:
            return steps
        remaining = batches - allennlp_internals.batches_in_epoch_completed(trainer) * steps
        return max(1, min(steps, remaining))

    def noise_generator(self, trainer, device: torch.device) -> torch.Generator:
        """A generator for this batch's initial noise, seeded by the run's seed and the batch's
        position in training, so a run resumed with --recover draws the same noise."""
        step = allennlp_internals.total_batches_completed(trainer)
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        position = (step * 101 + self._batches_in_group) * 1009 + rank
        seed = (torch.initial_seed() * 1_000_003 + position) % 2**63
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return generator

    def divergence(self, name: str, mask: torch.Tensor):
        loss = self.divergences[name]

        def compare(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            # Per-token outputs (tagging) are compared per token over the real tokens.
            per_token = logits.dim() == mask.dim() + 1 and logits.shape[:2] == mask.shape
            return loss(logits, target, mask if per_token else None)

        return compare

    def adversarial_loss(
        self,
        model,
        inputs: Dict[str, Any],
        generator: Optional[torch.Generator] = None,
        loss_scale: float = 1.0,
    ) -> Tuple[Optional[torch.Tensor], float]:
        """The adversarial loss of one batch (with graph) and the noise norm; None if not finite.
        `loss_scale`: the AMP GradScaler's scale for the noise ascent (see adversarial_noise)."""
        if self.method == "r3f":
            return self.r3f_loss(inputs)
        noise = self.smart_noise(model, inputs, generator, loss_scale)
        if noise is None:
            return None, float("nan")
        loss = self.perturbed_loss(model, inputs, noise)
        if not torch.isfinite(loss):
            return None, float("nan")
        noise_norm = norm_of(noise, self.adv_norm, self.adv_norm_level).max().item()
        return loss, noise_norm

    def _replay(self, model, inputs: Dict[str, Any]) -> Tuple[Any, Any]:
        """`logits_from(word_embeddings)`, the batch's task outputs from (perturbed) embeddings,
        and `compare(logits, target)`, its task's adversarial loss."""
        name = inputs["task"]
        mask, type_ids = inputs["mask"], inputs.get("type_ids")
        head_inputs = inputs.get("head_inputs") or {}

        def logits_from(perturbed: torch.Tensor) -> torch.Tensor:
            return model.perturbed_logits(name, perturbed, mask, type_ids, **head_inputs)

        return logits_from, self.divergence(name, inputs.get("output_mask", mask))

    def smart_noise(
        self,
        model,
        inputs: Dict[str, Any],
        generator: Optional[torch.Generator] = None,
        loss_scale: float = 1.0,
    ) -> Optional[torch.Tensor]:
        """SMART's perturbation of the batch's word embeddings after the `adv_k` ascent steps,
        detached; None if a gradient was not finite."""
        logits_from, compare = self._replay(model, inputs)
        return adversarial_noise(
            logits_from,
            compare,
            inputs["word_embeddings"],
            inputs["mask"],
            inputs["logits"].detach(),
            self.adv_k,
            self.adv_step_size,
            self.adv_noise_var,
            self.adv_norm,
            self.adv_norm_level,
            self.adv_epsilon,
            generator,
            loss_scale,
        )

    def perturbed_loss(self, model, inputs: Dict[str, Any], noise: torch.Tensor) -> torch.Tensor:
        """The task's adversarial loss between the outputs for the embeddings plus `noise` and
        the clean outputs. The word embeddings keep their graph, so the embedding matrix learns
        from this pass too; the noise is a constant here."""
        logits_from, compare = self._replay(model, inputs)
        return compare(logits_from(inputs["word_embeddings"] + noise), inputs["logits"].detach())

    def r3f_noise_of_batch(self, word_embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """R3F's noise for the batch being trained on: the model's `noisy_copy`. Drawn from the
        generator `on_backward` would seed for this batch, so a resumed run draws the same."""
        generator = self.noise_generator(self.trainer, word_embeddings.device)
        return r3f_noise(word_embeddings, mask, self.r3f_noise_type, self.r3f_sigma, generator)

    def r3f_loss(self, inputs: Dict[str, Any]) -> Tuple[Optional[torch.Tensor], float]:
        """R3F's term for one batch (with graph) and the noise norm; None if not finite.

        The noisy copy went through the model's forward with the batch (`noisy_copy`). As in
        the paper's implementation it starts from the word embeddings detached (the embedding
        matrix learns from the clean pass), and the clean logits keep their graph, so the
        divergence pulls the clean outputs towards the noisy ones as well as the reverse."""
        if "noisy_logits" not in inputs:
            raise ConfigurationError(
                "R3F: the model's forward returned no noisy copy of the batch; the "
                "'mtdnn_adversarial_training' callback's on_start sets the model's noisy_copy "
                "for method 'r3f'. Train through the trainer that holds the callback."
            )
        name, mask = inputs["task"], inputs["mask"]
        compare = self.divergence(name, inputs.get("output_mask", mask))
        loss = compare(inputs["noisy_logits"], inputs["logits"])
        if not torch.isfinite(loss):
            return None, float("nan")
        noise_norm = norm_of(inputs["noise"], self.adv_norm, self.adv_norm_level).max().item()
        return loss, noise_norm

    def bregman_loss(self, inputs: Dict[str, Any], batch_outputs: Dict[str, Any]) -> torch.Tensor:
        assert self.teacher is not None
        self.teacher.train(self.trainer.model.training)
        name = inputs["task"]
        with torch.no_grad():
            embeddings = self.teacher.encoder.embed_words(inputs["token_ids"])
            teacher_logits = self.teacher.perturbed_logits(
                name,
                embeddings,
                inputs["mask"],
                inputs.get("type_ids"),
                **(inputs.get("head_inputs") or {}),
            )
        compare = self.divergence(name, inputs.get("output_mask", inputs["mask"]))
        return compare(inputs["logits"], teacher_logits)

    def on_backward(self, trainer, batch_outputs, backward_called: bool, **kwargs) -> bool:
        if backward_called:
            raise ConfigurationError(
                "Another callback already ran the backward pass; 'mtdnn_adversarial_training' must "
                "run it (remove the other backward callback)."
            )
        inputs = batch_outputs.get("adversarial_inputs")
        if inputs is None:
            raise ConfigurationError(
                "The model returned no 'adversarial_inputs'; 'mtdnn_adversarial_training' needs "
                "the 'mtdnn' model."
            )
        model = trainer.model
        name = inputs["task"]
        clean = batch_outputs["loss"]
        weight = model.tasks[name].loss_weight
        total = clean
        # The trainer's autocast ends before on_backward; the extra passes need it too, on the
        # model's device type.
        with amp_autocast(trainer, inputs["word_embeddings"].device):
            # R3F drew its noise in the forward (`r3f_noise_of_batch`); SMART draws it here.
            generator = (
                self.noise_generator(trainer, inputs["word_embeddings"].device)
                if self.method == "smart"
                else None
            )
            self._batches_in_group += 1
            scaler = allennlp_internals.grad_scaler(trainer)
            loss_scale = float(scaler.get_scale()) if scaler is not None else 1.0
            adversarial, noise_norm = self.adversarial_loss(model, inputs, generator, loss_scale)
            bregman = self.bregman_loss(inputs, batch_outputs) if self.teacher else None
        self.monitors["adv_clean_loss"].add(clean.item())
        if adversarial is None:
            self.skipped_batches += 1
            logger.warning(
                "Adversarial training: a non-finite adversarial gradient or loss on a '%s' batch; "
                "this batch trains on its task loss alone (%d skipped so far).",
                name,
                self.skipped_batches,
            )
        else:
            total = total + self.adv_alpha * weight * adversarial
            self.monitors["adv_loss"].add(adversarial.item())
            self.monitors["adv_noise_norm"].add(noise_norm)
        if bregman is not None:
            total = total + self.bregman_mu * weight * bregman
            self.monitors["adv_bregman_loss"].add(bregman.item())
        # The trainer divides each batch's loss by the accumulation group's size before its own
        # backward pass; doing the backward here, the callback must do the same.
        total = total / self.group_size(trainer)
        scaler = allennlp_internals.grad_scaler(trainer)
        if scaler is not None:
            scaler.scale(total).backward()
        else:
            total.backward()
        return True

    def on_batch(
        self,
        trainer,
        batch_inputs: List[Dict[str, Any]],
        batch_outputs: List[Dict[str, Any]],
        batch_metrics: Dict[str, Any],
        epoch: int,
        batch_number: int,
        is_training: bool,
        is_primary: bool = True,
        batch_grad_norm: Optional[float] = None,
        **kwargs,
    ) -> None:
        if is_training:
            self._batches_in_group = 0
        if is_training and self.teacher is not None:
            # After the optimiser step: the momentum teacher follows the parameters.
            with torch.no_grad():
                student = dict(trainer.model.named_parameters())
                for key, parameter in self.teacher.named_parameters():
                    parameter.mul_(self.bregman_beta).add_(
                        student[key].detach(), alpha=1.0 - self.bregman_beta
                    )

    def on_end(self, trainer, metrics=None, epoch=None, is_primary: bool = True, **kwargs) -> None:
        # The trained model no longer runs a noisy copy, nor holds this callback.
        trainer.model.noisy_copy = None
        if self.skipped_batches:
            logger.warning(
                "Adversarial training skipped the adversarial term on %d batches (non-finite).",
                self.skipped_batches,
            )

    # --- checkpoints (--recover) ----------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        state: Dict[str, Any] = {"skipped_batches": self.skipped_batches}
        if self.teacher is not None:
            state["teacher"] = self.teacher.state_dict()
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.skipped_batches = int(state_dict.get("skipped_batches", 0))
        teacher = state_dict.get("teacher")
        if teacher is not None:
            if self.teacher is not None:
                self.teacher.load_state_dict(teacher)
            else:
                self._pending_teacher_state = teacher
