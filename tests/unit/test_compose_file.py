"""docker-compose.yml keeps the promises the README makes, checked on the file itself (the stack is run for
real in tests/compose/): valid against the Compose specification, ports on 127.0.0.1 only, pinned
images that can be swapped for local ones, no default password, non-root project images, and the
hardening of docs/security.md on every service, as the file says it and as `docker compose config`
resolves it: no capability, no new privileges, a read-only root filesystem, memory and CPU limits from
.env, Locust's web UI behind a login, Prometheus without its admin and lifecycle APIs, and an image
whose pip installs only hashed wheels at the lock's versions."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from loadlab import REPO, compose
from tests.compose.engine import compose_binary

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SCHEMA = Path(__file__).parent.parent / "data" / "compose-spec.json"  # copied from the compose-spec project
SECRETS = ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "LOCUST_WEB_PASSWORD")
ENV_EXAMPLE = dict(
    line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines() if re.match(r"^[A-Z_]+=", line)
)
LOADLAB_SERVICES = sorted(name for name, s in SERVICES.items() if s.get("image") == "loadlab:0.1.0")


def validate(document: dict) -> None:
    # the schema names draft-07 in a spelling jsonschema does not look up: say it
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(document)


def test_the_file_is_valid_compose():
    validate(COMPOSE)


def test_the_schema_check_catches_a_mistake():
    broken = {**COMPOSE, "services": {"x": {"image": "a:1", "heathcheck": {"test": ["CMD", "true"]}}}}  # a typo
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_published_ports_listen_on_localhost_only(name):
    for port in SERVICES[name].get("ports", []):
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: {port}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned_and_overridable(name):
    image = SERVICES[name]["image"]
    if "build" in SERVICES[name]:  # the project's own images: tagged with its version
        assert re.fullmatch(r"loadlab(-\w+)?:\d+\.\d+\.\d+", image), image
        return
    match = re.fullmatch(r"\$\{(?P<var>[A-Z_]+_IMAGE):-(?P<default>[^}]+)\}", image)
    assert match, f"{name}: {image} cannot be replaced from the environment"
    assert re.fullmatch(r"[\w./-]+:[\w.-]*\d[\w.-]*", match["default"]), f"{name}: {image} is not pinned"
    assert not match["default"].endswith(":latest")


def test_base_images_of_the_project_images_are_pinned_and_overridable():
    for dockerfile in (REPO / "Dockerfile", REPO / "prometheus" / "Dockerfile"):
        for arg, default in re.findall(r"^ARG (\w+_IMAGE)=(\S+)$", dockerfile.read_text(), re.M):
            assert re.fullmatch(r"[\w./-]+:[\w.-]*\d[\w.-]*", default), f"{dockerfile}: {arg}={default}"


def test_passwords_have_no_default():
    text = (REPO / "docker-compose.yml").read_text()
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(:?[-?])?", text)
        assert uses, secret
        assert all(op == ":?" for op in uses), f"{secret} must fail when unset (${{{secret}:?...}})"
    example = (REPO / ".env.example").read_text()
    for secret in SECRETS:
        assert re.search(rf"^{secret}=$", example, re.M), f".env.example gives {secret} a value"


def test_project_images_do_not_run_as_root():
    for dockerfile in (REPO / "Dockerfile", REPO / "prometheus" / "Dockerfile"):
        users = re.findall(r"^USER (\S+)", dockerfile.read_text(), re.M)
        assert users and users[-1] not in ("root", "0"), dockerfile


def test_services_others_wait_for_have_health_checks():
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert condition["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert "healthcheck" in SERVICES[dependency], f"{name} waits for {dependency}, which has no health check"


def test_data_lives_in_named_volumes():
    for service, path in (("postgres", "/var/lib/postgresql/data"), ("prometheus", "/prometheus")):
        mounts = dict(v.split(":", 1) for v in SERVICES[service]["volumes"])
        assert path in {m.split(":")[0] for m in mounts.values()}
        volume = next(src for src, dst in mounts.items() if dst.startswith(path))
        assert volume in COMPOSE["volumes"], f"{service}: {volume} is not a named volume"


def test_the_secrets_compose_requires_are_the_ones_loadlab_compose_checks():
    assert compose.SECRETS == SECRETS


# --- hardening: the file as written, then as `docker compose config` resolves it


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_drops_every_capability_and_cannot_gain_privileges(name):
    service = SERVICES[name]
    assert service.get("cap_drop") == ["ALL"], name
    assert "cap_add" not in service, f"{name}: adds a capability back (say why in a comment, and here)"
    assert "no-new-privileges:true" in service.get("security_opt", []), name
    assert service.get("privileged") is not True, name


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_root_filesystem_is_read_only_with_tmpfs_or_volumes_where_it_writes(name):
    service = SERVICES[name]
    assert service.get("read_only") is True, name
    for mount in service.get("tmpfs", []):
        # a size, and writable by the service's user (a tmpfs belongs to root; no service runs as root)
        assert re.fullmatch(r"/[\w/.-]+:size=\d+[km],mode=1777", mount), f"{name}: {mount}"


@pytest.mark.parametrize("name", LOADLAB_SERVICES)
def test_project_code_gets_a_tmpfs_for_tmp(name):
    assert any(m.split(":")[0] == "/tmp" for m in SERVICES[name]["tmpfs"]), name


def test_postgres_runs_as_its_own_user_from_the_start():
    # as root its entrypoint would chown the data and switch users: capabilities the service lacks
    assert SERVICES["postgres"]["user"] == "postgres"
    assert "/var/run/postgresql" in {m.split(":")[0] for m in SERVICES["postgres"]["tmpfs"]}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_memory_and_cpu_limits_come_from_env_with_the_defaults_env_example_documents(name):
    for key, suffix in (("mem_limit", "MEMORY"), ("cpus", "CPUS")):
        value = SERVICES[name].get(key)
        match = re.fullmatch(r"\$\{(?P<var>[A-Z_]+_" + suffix + r"):-(?P<default>[^}]+)\}", str(value))
        assert match, f"{name}: {key} is {value!r}, not ${{..._{suffix}:-default}}"
        assert ENV_EXAMPLE.get(match["var"]) == match["default"], f"{name}: .env.example's {match['var']}"
        assert match["var"] in (REPO / "docs" / "containers.md").read_text(), f"docs/containers.md: {match['var']}"


def test_locust_web_ui_asks_for_a_login_whose_password_has_no_default():
    master = SERVICES["locust-master"]
    command = master["command"]
    assert "--web-login" in command
    files = command[command.index("-f") + 1].split(",")
    assert "loadlab/load/web_login.py" in files and all((REPO / f).is_file() for f in files)
    assert master["environment"]["LOCUST_WEB_PASSWORD"].startswith("${LOCUST_WEB_PASSWORD:?")
    assert "LOCUST_WEB_PASSWORD" not in SERVICES["locust-worker"].get("environment", {})


@pytest.mark.parametrize("name", ["prometheus", "replay"])
def test_prometheus_has_no_admin_api_and_no_lifecycle_endpoints(name):
    command = " ".join(SERVICES[name]["command"])
    assert "--config.file" in command  # the command is the one that starts Prometheus
    assert "web.enable-admin-api" not in command
    assert "web.enable-lifecycle" not in command


PROFILES = ("--profile", "run", "--profile", "replay")


def resolved_config(**env: str) -> subprocess.CompletedProcess:
    """`docker compose config --format json` on the file, with every profile; no engine needed."""
    return subprocess.run(
        [str(compose_binary()), *PROFILES, "--env-file", os.devnull, "config", "--format", "json"],
        cwd=REPO,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_docker_compose_config_shows_every_hardening_setting_on_every_service():
    result = resolved_config(**{secret: "x" for secret in SECRETS})
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(services) == set(SERVICES)
    for name, service in services.items():
        assert service["cap_drop"] == ["ALL"], name
        assert "cap_add" not in service, name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["read_only"] is True, name
        assert int(service["mem_limit"]) > 0 and float(service["cpus"]) > 0, name
    assert "--web-login" in services["locust-master"]["command"]


def test_docker_compose_config_refuses_without_the_locust_password():
    result = resolved_config(POSTGRES_PASSWORD="x", GRAFANA_ADMIN_PASSWORD="x")
    assert result.returncode != 0
    assert "LOCUST_WEB_PASSWORD" in result.stderr


def test_the_image_stops_on_a_failed_ca_install_and_pip_installs_only_hashed_wheels():
    text = (REPO / "Dockerfile").read_text()
    assert "|| true" not in text and "|| :" not in text
    assert re.search(r"^RUN update-ca-certificates\b", text, re.M)
    installs = re.findall(r"pip install[^\n]*", text)
    assert installs, "the Dockerfile installs nothing with pip"
    for install in installs:
        assert "--require-hashes" in install, install
        assert "requirements.hashes.txt" in install, install


def _hash_lock():
    spec = importlib.util.spec_from_file_location("hash_lock", REPO / "scripts" / "hash_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hashed_lock_agrees_with_requirements_lock():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "hash_lock.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_hashed_lock_check_catches_a_version_the_lock_does_not_pin(tmp_path):
    hash_lock = _hash_lock()
    text = (REPO / "requirements.hashes.txt").read_text()
    pin = next(line.rstrip(" \\") for line in text.splitlines() if "==" in line and not line.startswith("#"))
    changed = tmp_path / "requirements.hashes.txt"
    changed.write_text(text.replace(pin + " ", pin + ".1 ", 1))
    problems = hash_lock.check(changed)
    assert any(f"{pin}.1: listed" in p for p in problems), problems
    assert any(f"{pin}: the lock wants it" in p for p in problems), problems
