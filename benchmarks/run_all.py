"""`make bench`: run every benchmark module in turn; each prints `bench <name>: <value> <unit>`."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    only = set(sys.argv[1:])
    sys.argv = sys.argv[:1]  # the names chosen here are not the benchmarks' own options
    failed = []
    for name in names:
        if only and name not in only:
            continue
        print(f"# {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed.append(name)
            print(f"# {name} failed: {exc!r}", flush=True)
        print(f"# {name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
