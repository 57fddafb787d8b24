"""An encoder built fresh (randomly initialised) from a transformers config: for pre-training.

After masked-LM pre-training, `allennlp export-encoder` writes it as a plain transformers folder
that the fine-tuning configs load by path (MTDNN_ENCODER=<folder>).
"""

from typing import Any, Dict, Optional

from allennlp.common.checks import ConfigurationError
from transformers import AutoConfig, AutoModel

from mtdnn_allennlp.data.tokenization import load_tokenizer
from mtdnn_allennlp.modules.shared_encoder import SharedEncoder, TransformerEncoder


@SharedEncoder.register("transformer_from_config")
class ConfigTransformerEncoder(TransformerEncoder):
    """A transformers encoder with fresh weights, shaped by a config given in the jsonnet.

    # Parameters

    config : `Dict[str, Any]`
        The transformers config: `model_type` (e.g. "bert") and the values to set, e.g.
        `{"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2, ...}`. Anything left
        out takes that model type's default. `vocab_size` defaults to the tokenizer's size.
    tokenizer : `str`
        The folder (or encoder name) whose tokenizer splits the text. Its word pieces are the
        vocabulary the encoder learns; the exported folder carries a copy.
    train_parameters : `bool`, optional (default = `True`)
    autocast_dtype : `str`, optional
        As for `transformer` (MTDNN_PRECISION=bf16 sets `"bfloat16"`).
    """

    def __init__(
        self,
        config: Dict[str, Any],
        tokenizer: str,
        train_parameters: bool = True,
        autocast_dtype: Optional[str] = None,
    ) -> None:
        SharedEncoder.__init__(self)  # not TransformerEncoder's: there are no weights to load
        self.set_autocast_dtype(autocast_dtype)
        values = dict(config)
        model_type = values.pop("model_type", None)
        if model_type is None:
            raise ConfigurationError(
                'transformer_from_config: the config needs a model_type, e.g. "bert".'
            )
        pieces = load_tokenizer(tokenizer)
        values.setdefault("vocab_size", len(pieces))
        if values["vocab_size"] < len(pieces):
            raise ConfigurationError(
                f"transformer_from_config: vocab_size {values['vocab_size']} is smaller than the "
                f"tokenizer's {len(pieces)} word pieces."
            )
        values.setdefault("pad_token_id", pieces.pad_token_id or 0)
        try:
            transformers_config = AutoConfig.for_model(model_type, **values)
        except ValueError as error:
            raise ConfigurationError(f"transformer_from_config: {error}") from None
        self.tokenizer_name = tokenizer
        self.transformer = AutoModel.from_config(transformers_config)
        if getattr(self.transformer, "pooler", None) is not None:
            self.transformer.pooler = None  # as in TransformerEncoder: heads pool for themselves
        for parameter in self.transformer.parameters():
            parameter.requires_grad = train_parameters
