"""``python -m planner.synth``: generate a synthetic county folder."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from planner.synth.generate import DEFAULT_ADCODE, DEFAULT_SEED, generate_county
from planner.synth.stats import baseline_statistics, format_statistics


def build_parser() -> argparse.ArgumentParser:
    """Command-line options (shared with ``planner generate``)."""
    p = argparse.ArgumentParser(
        prog="python -m planner.synth",
        description="Generate a deterministic synthetic county (合成数据) inside a real county boundary.",
    )
    p.add_argument("--county", default=DEFAULT_ADCODE, help=f"adcode in the boundary file (default {DEFAULT_ADCODE})")
    p.add_argument("--out", type=Path, required=True, help="output folder (created; files overwritten)")
    p.add_argument("--scale", type=float, default=1.0, help="size multiplier: 2, 4, 8 (default 1)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--boundary", type=Path, default=None, help="GeoJSON holding the county feature (GCJ-02)")
    p.add_argument("--stats", action="store_true", help="print baseline statistics against the standard")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    county = generate_county(args.county, args.out, args.scale, args.seed, args.boundary)
    s = county.schools
    comp = s[s["kind"] != "special"]
    print(
        f"{county.profile.name_zh} ({county.profile.adcode}) scale {args.scale:g} seed {args.seed} -> {args.out}: "
        f"{len(county.settlements):,} settlements, {len(comp)} schools, "
        f"{int(comp['pupils_primary'].sum()):,} primary / {int(comp['pupils_junior'].sum()):,} junior pupils, "
        f"{int(comp['staff_total'].sum()):,} staff, {len(county.teachers):,} teachers, "
        f"{len(county.roads):,} road segments "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    if args.stats:
        print(format_statistics(baseline_statistics(county.schools, county.teachers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
