"""Tabulates scripts/bio_decoding.sh: span F1 with and without constrained BIO decoding, per seed,
and the mean paired difference with its 95% t interval. Writes docs/results/bio_decoding.json.

    python scripts/bio_decoding_table.py OUT_DIR
"""

import json
import statistics
import sys
from pathlib import Path

from scipy import stats

ROOT = Path(__file__).resolve().parents[1]


def paired(differences):
    """Mean of paired differences and its 95% t interval (None with fewer than 2 pairs)."""
    mean = statistics.mean(differences)
    if len(differences) < 2:
        return mean, None
    half = stats.t.ppf(0.975, len(differences) - 1) * statistics.stdev(differences)
    half /= len(differences) ** 0.5
    return mean, (mean - half, mean + half)


def main(out: Path) -> None:
    summary = {}
    print("| task | seed | F1 constrained | F1 argmax | difference |")
    print("| --- | --- | --- | --- | --- |")
    for task_dir in sorted(path for path in out.iterdir() if path.is_dir()):
        task = task_dir.name
        rows = []
        for run in sorted(task_dir.glob("seed*")):
            scores = {}
            for constrained in ("true", "false"):
                metrics = run / f"dev_constrained_{constrained}.json"
                if metrics.is_file():
                    scores[constrained] = 100 * json.loads(metrics.read_text())[f"{task}_span_f1"]
            if len(scores) == 2:
                rows.append((run.name, scores["true"], scores["false"]))
        for seed, on, off in rows:
            print(f"| {task} | {seed} | {on:.2f} | {off:.2f} | {on - off:+.2f} |")
        if rows:
            mean, interval = paired([on - off for _, on, off in rows])
            summary[task] = {
                "runs": {seed: {"constrained": on, "argmax": off} for seed, on, off in rows},
                "mean_difference": mean,
                "interval_95": interval,
            }
            shown = f"[{interval[0]:+.2f}, {interval[1]:+.2f}]" if interval else "(one seed)"
            print(f"| {task} | mean | | | {mean:+.2f} {shown} |")
    target = ROOT / "docs" / "results" / "bio_decoding.json"
    target.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
