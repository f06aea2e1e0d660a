"""What reading specs with ruamel.yaml costs, against PyYAML.  A report, not a test.

    python bench/yamlload.py [--rounds 15]

Import: ``python -c "import ruamel.yaml"`` against ``python -c "import yaml"`` in fresh
interpreters, interleaved round by round (median of per-round ratios).  Load: every
example spec read by ``runner.yamlsrc.load`` (ruamel.yaml, positions kept, built by hand)
against ``yaml.safe_load`` and ``yaml.load(..., CSafeLoader)`` of the same text, in
process, best of the rounds per file summed over the files.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fresh(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    import yaml

    from runner import yamlsrc

    base, ruamel, pyyaml = [], [], []
    for r in range(args.rounds):
        pair = [("pass", "pass"), ("yaml", "import yaml"), ("ruamel", "import ruamel.yaml")]
        got = {name: fresh(code) for name, code in (pair if r % 2 else pair[::-1])}
        base.append(got["pass"])
        pyyaml.append(got["yaml"])
        ruamel.append(got["ruamel"])
    ratios = [(r - b) / (p - b) for r, p, b in zip(ruamel, pyyaml, base, strict=True)]
    extra = {n: 1000 * (statistics.median(v) - statistics.median(base))
             for n, v in (("ruamel.yaml", ruamel), ("PyYAML", pyyaml))}  # fmt: skip
    print(
        f"import, above python -c pass: ruamel.yaml +{extra['ruamel.yaml']:.0f} ms, "
        f"PyYAML +{extra['PyYAML']:.0f} ms; per-round ratio {statistics.median(ratios):.2f}"
    )
    specs = sorted((ROOT / "experiments").glob("*.yaml"))
    totals = {"runner.yamlsrc.load (ruamel.yaml)": 0.0, "yaml.safe_load": 0.0,
              "yaml.load CSafeLoader": 0.0}  # fmt: skip
    for path in specs:
        text = path.read_text()
        loaders = {
            "runner.yamlsrc.load (ruamel.yaml)": lambda p=path: yamlsrc.load(p),
            "yaml.safe_load": lambda t=text: yaml.safe_load(t),
            "yaml.load CSafeLoader": lambda t=text: yaml.load(t, Loader=yaml.CSafeLoader),
        }
        for name, load in loaders.items():
            best = min(_timed(load) for _ in range(args.rounds))
            totals[name] += best
    print(f"load of the {len(specs)} example specs (sum of per-file best):")
    for name, total in totals.items():
        print(f"  {name}: {1000 * total:.1f} ms ({1000 * total / len(specs):.2f} ms a spec)")


def _timed(load: object) -> float:
    t0 = time.perf_counter()
    load()  # type: ignore[operator]
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
