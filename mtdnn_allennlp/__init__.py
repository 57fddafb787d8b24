"""mtdnn_allennlp: MT-DNN multi-task learning for natural language understanding, as an AllenNLP
plugin.

This file stays light on purpose: the compatibility hook (``mtdnn_allennlp_compat.pth``) imports
the package in every Python process of the environment. Components register when their modules
are imported, which ``allennlp ... --include-package mtdnn_allennlp`` does for every submodule.
"""

from mtdnn_allennlp.compat import bootstrap as _bootstrap
from mtdnn_allennlp.version import VERSION as __version__

# Arms the fixes when the package is imported without the .pth (e.g. from a source checkout).
_bootstrap.install()

__all__ = ["__version__"]
