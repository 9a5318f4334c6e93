"""Seed a load test through the admin API: a program, a roster, a launched wave, its links.

    python -m loadtests.seed --host http://127.0.0.1:8000 --api-key rk_... --accounts 40 \\
        --out var/loadtest/links.json

Each simulated respondent later uses its own link once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROLES = ("decision_maker", "influencer", "user", "user", "other")


def roster_rows(
    *, accounts: int, contacts_per_account: int, sellers: int, seed: int = 0
) -> list[dict]:
    """Roster rows for synthetic accounts: each contact is assigned one or two sellers."""
    rng = random.Random(seed)
    rows = []
    for a in range(accounts):
        revenue = round(100_000 * rng.paretovariate(1.2))
        for c in range(contacts_per_account):
            assigned = rng.sample(range(sellers), k=1 if rng.random() < 0.7 else 2)
            for s in assigned:
                rows.append(
                    {
                        "account_id": f"LT-{a:05d}",
                        "account_name": f"Load Account {a}",
                        "annual_revenue": revenue,
                        "contact_email": f"buyer{a}.{c}@load.example",
                        "contact_name": f"Buyer {a}.{c}",
                        "contact_role": ROLES[c % len(ROLES)],
                        "seller_email": f"seller{s}@vendor.example",
                        "seller_name": f"Seller {s}",
                    }
                )
    return rows


def seed(
    *, host: str, api_key: str, accounts: int, contacts_per_account: int, sellers: int
) -> dict:
    """Create the program and wave through the admin API and return the links file's content."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"

    def call(method: str, path: str, **kwargs) -> dict:
        response = session.request(method, f"{host}{path}", timeout=120, **kwargs)
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else {}

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    program = call("POST", "/api/v1/programs", json={"name": f"Load test {stamp}"})
    rows = roster_rows(
        accounts=accounts, contacts_per_account=contacts_per_account, sellers=sellers
    )
    imported = call("POST", f"/api/v1/programs/{program['id']}/roster", json={"rows": rows})
    if imported.get("rows_rejected"):
        raise SystemExit(f"roster rows rejected: {imported['errors'][:5]}")
    closes_at = (datetime.now(UTC) + timedelta(days=14)).isoformat()
    wave = call(
        "POST",
        f"/api/v1/programs/{program['id']}/waves",
        json={"name": f"Load wave {stamp}", "closes_at": closes_at},
    )
    call("POST", f"/api/v1/waves/{wave['id']}/launch", json={"delivery": "none"})
    links = call("GET", f"/api/v1/waves/{wave['id']}/links")["items"]
    for link in links:
        link["token"] = link["url"].rstrip("/").rsplit("/", 1)[-1]
    return {
        "host": host,
        "program_id": program["id"],
        "wave_id": wave["id"],
        "api_key": api_key,
        "links": links,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--contacts-per-account", type=int, default=5)
    parser.add_argument("--sellers", type=int, default=20)
    parser.add_argument("--out", default="var/loadtest/links.json")
    args = parser.parse_args(argv)
    data = seed(
        host=args.host.rstrip("/"),
        api_key=args.api_key,
        accounts=args.accounts,
        contacts_per_account=args.contacts_per_account,
        sellers=args.sellers,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data))
    sides = {
        side: sum(1 for link in data["links"] if link["side"] == side)
        for side in ("buyer", "seller")
    }
    print(
        f"seeded wave {data['wave_id']}: {sides['buyer']} buyer and {sides['seller']} seller links -> {out}"
    )


if __name__ == "__main__":
    sys.exit(main())
