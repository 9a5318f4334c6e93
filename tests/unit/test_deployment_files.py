"""docker-compose.yml and the deploy files are for users; read them, since no engine runs here."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_part_of_the_stack_with_healthchecks_and_restarts():
    services = _compose()["services"]
    assert set(services) >= {"mongo", "rabbitmq", "mailpit", "survey", "scoring", "notify"}
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert service.get("restart") == "unless-stopped", name


def test_compose_mongo_is_a_replica_set_of_version_7():
    mongo = _compose()["services"]["mongo"]
    assert mongo["image"].startswith("mongo:7")
    assert "--replSet" in mongo["command"]
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])


def test_compose_services_wait_for_healthy_dependencies_and_share_configuration():
    services = _compose()["services"]
    for name in ("survey", "scoring", "notify"):
        depends = services[name]["depends_on"]
        assert depends["mongo"]["condition"] == "service_healthy"
        assert depends["rabbitmq"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        for variable in ("MONGO_URL", "AMQP_URL", "SMTP_URL", "RAPPORT_SECRET_KEY"):
            assert variable in env, (name, variable)
    assert "gunicorn" in services["survey"]["command"]
    assert services["rabbitmq"]["image"].endswith("-management")


def test_gunicorn_config_does_not_preload_so_connections_are_made_after_fork():
    namespace: dict = {}
    exec((ROOT / "deploy/gunicorn.conf.py").read_text(), namespace)
    assert namespace["preload_app"] is False
    assert namespace["wsgi_app"] == "services.survey.app:create_app()"


def test_dockerfile_runs_as_an_unprivileged_user():
    text = (ROOT / "deploy/Dockerfile").read_text()
    assert "USER rapport" in text and "FROM python:3.13" in text


def test_k8s_manifests_probe_readiness_and_run_every_service():
    documents = list(yaml.safe_load_all((ROOT / "deploy/k8s/rapport.yaml").read_text()))
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(deployments) == {"survey", "scoring", "notify"}
    survey = deployments["survey"]["spec"]["template"]["spec"]["containers"][0]
    assert survey["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert survey["livenessProbe"]["httpGet"]["path"] == "/healthz"
