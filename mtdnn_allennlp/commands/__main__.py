"""`python -m mtdnn_allennlp.commands ARCHIVE --output-dir DIR`: glue-submission without the
allennlp CLI, e.g. outside a directory whose `.allennlp_plugins` lists the command."""

from mtdnn_allennlp.commands.glue_submission import main

main()
