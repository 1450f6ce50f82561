"""Write the product path's temperature into a head checkpoint (the shipped head's last step).

Why a script: `sentimentogram train` fits a temperature on the held-out validation speakers,
which sharpens probabilities for speech like the training corpora. What `render` shows users is
out of domain, so the shipped temperature is the one `benchmarks/product_path.py` fits on the
clip scores of leave-one-corpus-out heads across all corpora (``calibration.t_all`` in its JSON).

    python scripts/set_head_temperature.py HEAD --from reports/product_path_loco_mix.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentimentogram_cli.emotion.head import EmotionHead  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("head", type=Path)
    parser.add_argument("--from", dest="source", type=Path, required=True,
                        help="JSON written by benchmarks/product_path.py --json (leave-one-corpus-out run)")
    args = parser.parse_args()
    runs = [run for run in json.loads(args.source.read_text())["runs"] if "calibration" in run]
    if not runs:
        sys.exit(f"{args.source} has no leave-one-corpus-out calibration: run the benchmark without --no-loco")
    temperature = float(runs[0]["calibration"]["t_all"])
    head = EmotionHead.load(args.head)
    before = head.metadata.temperature
    head.metadata.temperature = temperature
    head.metadata.extra["temperature_from"] = f"{args.source.name}: calibration.t_all"
    head.save(args.head)  # atomic
    print(f"{args.head}: temperature {before:.3f} -> {temperature:.3f}")


if __name__ == "__main__":
    main()
