"""A respondent's time, estimated from the page contents (issue 18's rule: items × 4 s +
page loads × 3 s), for a buyer and for a seller with 8 buyers in the grid:

    bench respond.buyer_full_s: <s> s
    bench respond.seller_8_buyers_s: <s> s
    bench respond.seller_8_buyers_one_at_a_time_s: <s> s

An estimate, not a stopwatch: 4 s an item is the issue's figure for reading a short
statement and clicking (about 12-15 words at ~240 words a minute, Brysbaert 2019, plus the
click). Goals: a buyer under 6 minutes (360 s), a seller with 8 buyers under 20 (1200 s).
Run: `python -m benchmarks.run_all bench_respondent_time`.
"""

from __future__ import annotations

from services.survey.respond import grid, screens
from shared.questionnaire import load_bank


def main() -> None:
    bank = load_bank()
    buyer = bank.estimated_seconds()
    seller = grid.seller_grid_seconds(8, bank)
    # the one-buyer-at-a-time flow: the buyer's questionnaire 8 times, plus the list page
    one_at_a_time = 8 * grid.estimate_seconds(
        items=len(bank.items), pages=len(screens.steps(bank)) + 1
    ) + grid.estimate_seconds(items=0, pages=2)
    print(f"bench respond.buyer_full_s: {buyer} s", flush=True)
    print(f"bench respond.seller_8_buyers_s: {seller} s", flush=True)
    print(f"bench respond.seller_8_buyers_one_at_a_time_s: {one_at_a_time} s", flush=True)


if __name__ == "__main__":
    main()
