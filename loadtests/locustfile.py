"""Rapport's load test: respondents and program managers, weighted as in a real wave.

Seed first (`python -m loadtests.seed ...`), then run Locust against the same host:

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000

Environment: RAPPORT_LOADTEST_LINKS (the seed's file, default var/loadtest/links.json),
RAPPORT_LOADTEST_THINK (think-time multiplier, default 1.0), RAPPORT_LOADTEST_WORKERS
and RAPPORT_LOADTEST_WORKER_INDEX (distributed runs: each worker takes its share of
the links, so every simulated respondent uses its own link once).
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections import deque
from pathlib import Path

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from loadtests.answers import SECTIONS, section_answers

THINK = float(os.environ.get("RAPPORT_LOADTEST_THINK", "1.0"))

_links: dict[str, deque] = {"buyer": deque(), "seller": deque()}
_links_lock = threading.Lock()
_seed: dict = {}


@events.init.add_listener
def _load_links(environment, **_kwargs) -> None:
    path = Path(os.environ.get("RAPPORT_LOADTEST_LINKS", "var/loadtest/links.json"))
    if not path.exists():
        return  # the master of a distributed run needs no links
    data = json.loads(path.read_text())
    workers = int(os.environ.get("RAPPORT_LOADTEST_WORKERS", "1"))
    index = int(os.environ.get("RAPPORT_LOADTEST_WORKER_INDEX", "0"))
    _seed.update({k: v for k, v in data.items() if k != "links"})
    for position, link in enumerate(data["links"]):
        if position % workers == index:
            _links[link["side"]].append(link)


def take_link(side: str) -> dict:
    """A link no other simulated respondent has used; stops the user when none is left."""
    with _links_lock:
        if not _links[side]:
            raise StopUser()
        return _links[side].popleft()


def think(low: float, high: float) -> float:
    return random.uniform(low, high) * THINK


class Respondent(FastHttpUser):
    abstract = True
    side = "buyer"
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.link = take_link(self.side)
        self.token = self.link["token"]
        self.quality = random.betavariate(4, 2)

    def answer_subject(self, subject_id: str, label: str) -> None:
        path = f"/api/v1/respond/{self.token}/subjects/{subject_id}"
        for number, section in enumerate(SECTIONS):
            self.client.put(
                path,
                json={"answers": section_answers(section, quality=self.quality)},
                name=f"{label}: save page",
            )
            self._sleep(think(2, 8))
            if number == 4 and random.random() < 0.2:
                # leaves and comes back later through the same link
                self._sleep(think(10, 30))
                self.client.get(f"/s/{self.token}", name=f"{label}: resume page")
                self.client.get(f"/api/v1/respond/{self.token}", name=f"{label}: load")
        with self.client.post(
            f"{path}/submit", json={}, name=f"{label}: submit", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"submit answered {response.status_code}: {response.text[:200]}")

    def _sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)


class Buyer(Respondent):
    """Opens the emailed link, answers page by page, sometimes leaves and resumes, submits."""

    weight = 8
    side = "buyer"

    @task
    def journey(self) -> None:
        self.client.get(f"/s/{self.token}", name="buyer: open page")
        survey = self.client.get(f"/api/v1/respond/{self.token}", name="buyer: load").json()
        subject = survey["subjects"][0]
        self.answer_subject(subject["subject_id"], "buyer")
        raise StopUser()  # each link is used once


class Seller(Respondent):
    """Answers the mirrored questionnaire for each of their buyer contacts in turn."""

    weight = 2
    side = "seller"

    @task
    def journey(self) -> None:
        self.client.get(f"/s/{self.token}", name="seller: open page")
        survey = self.client.get(f"/api/v1/respond/{self.token}", name="seller: load").json()
        for subject in survey["subjects"]:
            if subject.get("status") != "completed":
                self.answer_subject(subject["subject_id"], "seller")
        raise StopUser()


class ProgramManager(FastHttpUser):
    """Polls the wave's response rates and now and then reads the results."""

    weight = 1
    wait_time = between(5, 15)

    def on_start(self) -> None:
        if not _seed.get("wave_id"):
            raise StopUser()
        self.headers = {"Authorization": f"Bearer {_seed['api_key']}"}
        self.wave = _seed["wave_id"]

    @task(5)
    def wave_status(self) -> None:
        self.client.get(
            f"/api/v1/waves/{self.wave}", headers=self.headers, name="manager: wave status"
        )

    @task(1)
    def results(self) -> None:
        self.client.get(
            f"/api/v1/waves/{self.wave}/results", headers=self.headers, name="manager: results"
        )
