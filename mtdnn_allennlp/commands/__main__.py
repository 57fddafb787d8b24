"""`python -m mtdnn_allennlp.commands ARGS`: the allennlp command line with this plugin's
subcommands registered, from any working directory."""

from allennlp.commands import main

import mtdnn_allennlp.commands  # noqa: F401 - registers the subcommands

if __name__ == "__main__":
    main(prog="python -m mtdnn_allennlp.commands")
