"""Shared fixtures: a real pymongo connection and the real RabbitMQ, each test in its own namespace."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from urllib.parse import urlparse

import pika
import pymongo
import pytest

from deploy.local.mongo_server import mongo_url_or_local
from shared.bus import ConsumerSpec, RabbitBus
from shared.periodic import stop_all_periodic
from shared.settings import Settings
from shared.store import client_options, ensure_indexes

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
# Every bus namespace of this test session starts with this, so the clean-up at the end
# removes this session's queues and never those of another run on the same broker.
SESSION_NAMESPACE = f"test-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def mongo_uri():
    """MONGO_URL when set (a real MongoDB), else the local mongoeco wire server (memory engine)."""
    with mongo_url_or_local() as uri:
        try:
            yield uri
        finally:
            stop_all_periodic()  # apps' relay threads would otherwise poll a stopped server


@pytest.fixture(scope="session")
def mongo_client(mongo_uri):
    client = pymongo.MongoClient(mongo_uri, **client_options())
    yield client
    client.close()


@pytest.fixture
def db(mongo_client):
    """A fresh database for one test, with every index created."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    database = mongo_client[name]
    ensure_indexes(database)
    yield database
    mongo_client.drop_database(name)


@pytest.fixture(scope="session")
def amqp_url():
    """The real broker: `make test` has made sure it runs; never skip silently."""
    url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 5672), timeout=3).close()
    except OSError as exc:
        pytest.fail(
            f"RabbitMQ is not reachable at {parsed.hostname}:{parsed.port or 5672} ({exc}); "
            "run `bash deploy/local/ensure_rabbitmq.sh` or set AMQP_URL"
        )
    return url


def isolated_settings(**overrides) -> Settings:
    base = Settings(
        bus_namespace=f"{SESSION_NAMESPACE}-{uuid.uuid4().hex[:8]}",
        bus_retry_delay_ms=200,
        bus_max_retries=2,
        bus_prefetch=8,
    )
    return Settings(**{**base.__dict__, **overrides})


@pytest.fixture
def rabbit_bus(amqp_url):
    """A RabbitBus in a namespace of its own; its queues and exchanges are deleted after."""
    bus = RabbitBus(isolated_settings(amqp_url=amqp_url))
    created: list[str] = []
    original = bus.consumer

    def tracking_consumer(spec: ConsumerSpec):
        created.append(spec.name)
        return original(spec)

    bus.consumer = tracking_consumer  # type: ignore[method-assign]
    yield bus
    bus.close()
    for name in set(created):
        bus.delete_consumer_queues(name)
    bus.delete_exchanges()


@pytest.fixture(scope="session", autouse=True)
def _remove_test_queues_at_the_end():
    """Tests declare queues under this session's namespaces; leave the shared broker as it was."""
    yield
    if shutil.which("rabbitmqctl") is None:
        return
    try:
        listed = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "name"], capture_output=True, text=True, timeout=30
        ).stdout.split()
        exchanges = subprocess.run(
            ["rabbitmqctl", "-q", "list_exchanges", "name"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return
    ours = [q for q in listed if q.startswith(f"{SESSION_NAMESPACE}-")]
    our_exchanges = [e for e in exchanges if e.startswith(f"{SESSION_NAMESPACE}-")]
    if not ours and not our_exchanges:
        return
    connection = pika.BlockingConnection(
        pika.URLParameters(os.environ.get("AMQP_URL", DEFAULT_AMQP_URL))
    )
    try:
        channel = connection.channel()
        for name in ours:
            channel.queue_delete(name)
        for name in our_exchanges:
            channel.exchange_delete(name)
    finally:
        connection.close()
