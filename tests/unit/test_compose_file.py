"""docker-compose.yml keeps the promises the README makes, checked on the file itself (the stack is run for
real in tests/compose/): valid against the Compose specification, ports on 127.0.0.1 only, pinned
images that can be swapped for local ones, no default password, non-root project images."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from loadlab import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SCHEMA = Path(__file__).parent.parent / "data" / "compose-spec.json"  # copied from the compose-spec project
SECRETS = ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD")


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
