"""gunicorn settings for the survey service (`gunicorn -c deploy/gunicorn.conf.py`)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# No preload: MongoDB clients and pika connections are created in each worker, after fork.
preload_app = False
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = None  # the app logs one structured line per event; the proxy keeps access logs
errorlog = "-"
wsgi_app = "services.survey.app:create_app()"


def on_starting(server):
    """Refuse to start, in one line naming the setting, before any worker boots."""
    from shared.settings import Settings

    Settings.from_env_or_exit()


def post_worker_init(worker):
    """Connect and compile before the first respondent's request, and start the outbox relays."""
    from services.bootstrap import start_relays
    from services.survey.app import warm_up

    warm_up(worker.wsgi)
    start_relays(worker.wsgi.extensions["rapport"])


def worker_exit(server, worker):
    """Stop this worker's outbox relays between two passes."""
    from services.bootstrap import stop_relays

    app = getattr(worker, "wsgi", None)
    if app is not None:
        stop_relays(app.extensions["rapport"])


def child_exit(server, worker):
    """Let prometheus_client drop a dead worker's live gauges in multi-process mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
