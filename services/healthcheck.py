"""Container healthcheck for the consumers: MongoDB and the broker both answer (exit 0), else 1."""

from __future__ import annotations

import sys

from services.bootstrap import build
from shared.store import ping


def main() -> int:
    container = build()
    ok = ping(container.db) and container.bus.ping()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
