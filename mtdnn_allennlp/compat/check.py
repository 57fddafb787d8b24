"""Is this Python/torch/transformers/allennlp stack one that mtdnn_allennlp supports?

``python -m mtdnn_allennlp.compat.check`` prints the answer and which compatibility fixes apply;
the Makefile runs it after every install. The import hook runs the same check before allennlp
loads, so an unsupported stack gets one message that says what to install, not a traceback from
deep inside allennlp.
"""

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import List, Optional, Tuple

# (distribution, lowest supported, first unsupported or None, what to install)
SUPPORTED = [
    ("torch", (2, 1), None, "torch==2.13.0"),
    ("transformers", (4, 40), (6, 0), "transformers==4.57.6"),
    ("allennlp", (2, 10, 1), (2, 10, 2), "--no-deps allennlp==2.10.1"),
]
# zip(strict=True) throughout the package needs 3.10; ruff checks the code against py310.
PYTHON = ((3, 10), "Python 3.10 or newer (3.11 is tested)")


class UnsupportedStackError(ImportError):
    pass


def _parse(text: str) -> Tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _installed(distribution: str) -> Optional[str]:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def stack_problems() -> List[str]:
    problems = []
    if sys.version_info < PYTHON[0]:
        problems.append(f"Python {sys.version.split()[0]} is too old: use {PYTHON[1]}")
    for distribution, low, high, install in SUPPORTED:
        found = _installed(distribution)
        if found is None:
            problems.append(f"{distribution} is not installed: pip install {install}")
        elif _parse(found) < low or (high is not None and _parse(found) >= high):
            problems.append(f"{distribution} {found} is not supported: pip install {install}")
    return problems


def stack_message(problems: List[str]) -> str:
    lines = ["mtdnn_allennlp cannot run AllenNLP on this stack:"]
    lines += [f"  - {problem}" for problem in problems]
    lines.append("The tested set is pinned in requirements/lock.txt; `make install` builds it.")
    return "\n".join(lines)


def main() -> int:
    problems = stack_problems()
    if problems:
        print(stack_message(problems), file=sys.stderr)
        return 1
    import allennlp  # noqa: F401  (runs the "before" fixes of the import hook)

    from mtdnn_allennlp.compat import fixes

    versions = ", ".join(f"{name} {_installed(name)}" for name, *_ in SUPPORTED)
    print(f"mtdnn_allennlp: supported stack (Python {sys.version.split()[0]}, {versions})")
    for each in fixes.FIXES:
        state = "needed" if each.needed() else "not needed"
        print(f"  {each.name:28s} {state:11s} {each.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
