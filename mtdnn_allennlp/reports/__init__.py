"""Run reports: training curves and dev-set pictures of a finished run."""
