"""Build a scaled demo store for the read-copy benchmarks (no read copy written here).

    python bench/make_store.py --scale 3 --db /tmp/bench-3.db
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import demo  # noqa: E402
from analytics.store.db import get_engine, migrate  # noqa: E402

from run import END  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=int, default=3)
    p.add_argument("--db", required=True, help="path of the SQLite file to create")
    a = p.parse_args()
    path = Path(a.db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    frames = demo.generate(seed=7, end=END, scale=a.scale)
    t1 = time.perf_counter()
    engine = get_engine(f"sqlite:///{path}")
    migrate(engine)
    written = demo.load(engine, frames)
    print(f"generated in {t1 - t0:.1f} s, written in {time.perf_counter() - t1:.1f} s: {written}")


if __name__ == "__main__":
    main()
