"""The `mtdnn` model through allennlp's own ModelTestCase checks, once per task type: it trains,
every trainable parameter gets a gradient, the archive loads to the same weights and the same
predictions, and a batch predicts what each of its instances predicts alone (padding changes
nothing)."""

import json

import pytest
from allennlp.common.testing import ModelTestCase

from tests.conftest import FIXTURES, TINY_BERT
from tests.support.tiny_models import TRAIN

CONFIG = FIXTURES / "configs" / "model_test_case.jsonnet"
TASK_TYPES = {
    "rte": "classification",
    "stsb": "regression",
    "conll2003": "sequence_labeling",
    "qnli_ranking": "ranking",
    "squad_v1": "span_extraction",
}
# Outputs that are not per instance (a batch-level count) or that the head fills only in
# training; "loss" keys are skipped by allennlp itself.
NOT_PER_INSTANCE = ("task",)
# A ranking group's scores go through a softmax over its candidates, which is unchanged by
# adding one constant to every score: the output layer's bias gets no gradient, by design.
NO_GRADIENT = {"qnli_ranking": {"heads.qnli_ranking.output.bias"}}


@pytest.fixture
def one_task(monkeypatch, request):
    monkeypatch.setenv("MTDNN_ENCODER", str(TINY_BERT))
    monkeypatch.setenv("MTDNN_DATA", str(FIXTURES / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MTDNN_TEST_TASK", request.param)
    return request.param


class TestMultiTaskModel(ModelTestCase):
    # allennlp's inherited batch-norm check runs only on a model set up in setup_method; these
    # tests set up one per task, so it would pass without checking anything.
    test_model_batch_norm_verification = None

    @pytest.mark.parametrize("one_task", sorted(TASK_TYPES), indirect=True)
    def test_trains_saves_and_loads_with_the_same_predictions(self, one_task):
        # Validated on its training file: qnli_ranking's fixture has no dev split, and the check
        # only needs a labelled file the model has seen.
        overrides = {"validation_data_path": {one_task: str(TRAIN[one_task])}}
        self.ensure_model_can_train_save_and_load(
            CONFIG,
            tolerance=1e-5,
            seed=1,
            overrides=json.dumps(overrides),
            gradients_to_ignore=NO_GRADIENT.get(one_task),
        )

    @pytest.mark.parametrize("one_task", sorted(TASK_TYPES), indirect=True)
    def test_a_batch_predicts_what_each_instance_predicts_alone(self, one_task):
        self.set_up_model(CONFIG, json.dumps({one_task: str(TRAIN[one_task])}), seed=1)
        self.instances = self.instances[:6]
        lengths = {json.dumps(i.get_padding_lengths(), sort_keys=True) for i in self.instances}
        assert len(lengths) > 1  # the batch pads some instances
        self.ensure_batch_predictions_are_consistent(keys_to_ignore=NOT_PER_INSTANCE)
