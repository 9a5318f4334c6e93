"""docker-compose.yml and the deploy files are for users; read them, since no engine runs here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.settings import Settings, SettingsError

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


def _k8s_config() -> dict:
    documents = yaml.safe_load_all((ROOT / "deploy/k8s/rapport.yaml").read_text())
    (secret,) = [d for d in documents if d["kind"] == "Secret"]
    return secret["stringData"]


def test_compose_takes_the_secret_key_from_env_and_refuses_to_start_without_it():
    for name in ("survey", "scoring", "notify"):
        value = _compose()["services"][name]["environment"]["RAPPORT_SECRET_KEY"]
        # ${VAR:?message}: compose stops with the message when VAR is unset or empty
        assert re.fullmatch(r"\$\{RAPPORT_SECRET_KEY:\?[^}]*\}", value), value
    # the admin API key too: a key shipped in the repository opens every compose stack
    value = _compose()["services"]["survey"]["environment"]["RAPPORT_BOOTSTRAP_API_KEY"]
    assert re.fullmatch(r"\$\{RAPPORT_BOOTSTRAP_API_KEY:\?[^}]*\}", value), value
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_k8s_secret_key_placeholder_is_refused_by_every_process():
    placeholder = _k8s_config()["RAPPORT_SECRET_KEY"]
    assert len(placeholder.encode()) >= 32  # refused for what it is, not only for its length
    with pytest.raises(SettingsError, match="RAPPORT_SECRET_KEY is the placeholder"):
        Settings.from_env({"RAPPORT_SECRET_KEY": placeholder})


@pytest.mark.parametrize(
    "shipped", ["change-me", "change-me-in-production", "dev-insecure-secret-change-me"]
)
def test_the_placeholders_shipped_before_are_refused_too(shipped):
    with pytest.raises(SettingsError, match="RAPPORT_SECRET_KEY"):
        Settings.from_env({"RAPPORT_SECRET_KEY": shipped})


def test_the_readme_command_makes_an_env_file_whose_key_is_accepted():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^python3 -c '([^']+)' > \.env", readme, re.MULTILINE)
    assert command, "the README shows how to make .env"
    lines = subprocess.run(
        [sys.executable, "-c", command.group(1)], capture_output=True, text=True, check=True
    ).stdout.split()
    made = dict(line.partition("=")[::2] for line in lines)
    assert set(made) == {"RAPPORT_SECRET_KEY", "RAPPORT_BOOTSTRAP_API_KEY"}
    key = made["RAPPORT_SECRET_KEY"]
    assert Settings.from_env({"RAPPORT_SECRET_KEY": key}).secret_key == key
    assert len(made["RAPPORT_BOOTSTRAP_API_KEY"]) >= 40  # rk_ and 32 random bytes
