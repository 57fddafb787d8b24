"""allennlp subcommands of the plugin: `allennlp glue-submission`.

allennlp finds plugin subcommands by importing the modules listed in `.allennlp_plugins` (in
the directory the command runs from) or `~/.allennlp/plugins`, before it parses the command
line; `--include-package` comes too late for that. The project's `.allennlp_plugins` lists this
package.
"""

from mtdnn_allennlp.commands.glue_submission import GlueSubmission

__all__ = ["GlueSubmission"]
