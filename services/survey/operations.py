"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from shared.store import ping

bp = Blueprint("operations", __name__)

REQUESTS = Counter("rapport_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "rapport_http_request_seconds",
    "HTTP request latency",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    container = current_app.extensions["rapport"]
    checks = {}
    try:
        checks["mongodb"] = ping(container.db)
    except Exception:
        checks["mongodb"] = False
    try:
        checks["broker"] = container.bus.ping()
    except Exception:
        checks["broker"] = False
    unreachable = sorted(name for name, ok in checks.items() if not ok)
    body = {"status": "ok" if not unreachable else "unavailable", "checks": checks}
    if unreachable:
        body["unreachable"] = unreachable
    return jsonify(body), (200 if not unreachable else 503)


@bp.get("/metrics")
def metrics():
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


def instrument(app: Flask) -> None:
    """Count and time every request by endpoint (never by raw path: tokens are in paths)."""

    @app.before_request
    def _start_timer():
        g._started = time.perf_counter()

    @app.after_request
    def _record(response):
        endpoint = request.endpoint or "unknown"
        started = g.pop("_started", None)
        if started is not None:
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response
