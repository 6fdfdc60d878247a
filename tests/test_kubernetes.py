"""deploy/kubernetes/, offline: every overlay renders with `kubectl kustomize`, every rendered object
validates against the Kubernetes schemas of a pinned version (kubernetes-validate ships them), every
container is hardened, sized and probed, and the images are the compose stack's.

No cluster runs here. prometheus-operator's kinds (ServiceMonitor, PrometheusRule) are not in the
Kubernetes schemas: their required fields and the fields used are checked by hand below.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from loadlab import REPO

KUBERNETES = REPO / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
OVERLAYS = sorted(path.parent for path in (KUBERNETES / "overlays").glob("*/kustomization.yaml"))
KUBERNETES_VERSION = "1.30.0"  # the schemas every object is validated against
NAMESPACE = "loadlab"
# kustomize v5 (kubectl 1.27 on) reads these kustomizations; Debian bookworm's kubectl 1.20 embeds
# kustomize v2.0.3, which knows none of `replicas`, `labels`, `patches` or per-generator options
MIN_KUBECTL = (1, 27)
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
OPERATOR_GROUP = "monitoring.coreos.com/"


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl not found: scripts/setup installs it (Debian's kubernetes-client)")
    out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True)
    client = json.loads(out.stdout)["clientVersion"]
    version = (int(client["major"]), int(re.match(r"\d+", client["minor"]).group()))
    if version < MIN_KUBECTL:
        pytest.skip(
            f"kubectl {client['gitVersion']} is too old to render these kustomizations (its kustomize lacks "
            f"replicas, labels, patches): kubectl {'.'.join(map(str, MIN_KUBECTL))} or newer is needed"
        )
    return path


def render(directory: Path) -> list[dict[str, Any]]:
    out = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True)
    assert out.returncode == 0, f"`kubectl kustomize {directory}` failed: {out.stderr.strip()}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def name(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def containers(obj: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod spec, container) of every container of a workload, init containers included."""
    if obj["kind"] not in WORKLOADS:
        return []
    pod = obj["spec"]["template"]["spec"]
    return [(pod, c) for c in [*pod.get("initContainers", []), *pod["containers"]]]


# --- the compose stack's images and the check that names a wrong one ---------------------------------

DEFAULT = re.compile(r"^\$\{(\w+):-([^}]+)\}$")


def compose_images() -> set[str]:
    """Every image docker-compose.yml pins: each service's image (an ${VAR:-default} resolved to its
    default) and each build's *_IMAGE base image."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    images = set()
    for service in compose["services"].values():
        refs = [service.get("image", "")]
        refs += [v for k, v in (service.get("build") or {}).get("args", {}).items() if k.endswith("_IMAGE")]
        for ref in filter(None, refs):
            match = DEFAULT.match(ref)
            images.add(match.group(2) if match else ref)
    return images


def image_problems(overlay: Path, objects: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the images of an overlay's rendered objects, each line naming the overlay:
    a container image that is not one of the compose stack's, or an `images:` entry of the overlay
    that matches no container (kustomize ignores it silently: a misspelt name)."""
    allowed = compose_images()
    problems = []
    used = set()
    for obj in objects:
        for _, container in containers(obj):
            image = container["image"]
            used.add(image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image)
            if image not in allowed:
                problems.append(
                    f"{overlay}: {name(obj)} container {container['name']} has image {image!r}, "
                    f"not one of the compose stack's ({', '.join(sorted(allowed))})"
                )
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    for entry in kustomization.get("images", []):
        target = entry.get("newName", entry["name"])
        if entry["name"] not in used and target not in used:
            problems.append(f"{overlay}: its images entry {entry['name']!r} matches no container image")
    return problems


# --- prometheus-operator's kinds, checked by hand ----------------------------------------------------

DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")
ENDPOINT_FIELDS = {"port", "path", "interval", "scrapeTimeout", "honorLabels", "relabelings", "scheme"}
RELABEL_ACTIONS = {"replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep", "hashmod"}


def operator_problems(obj: dict[str, Any], services: dict[str, dict[str, Any]]) -> list[str]:
    """ServiceMonitor and PrometheusRule (monitoring.coreos.com/v1): the CRDs' required fields, the
    types and patterns of the fields used here, and that each ServiceMonitor selects a rendered
    Service that has the port it names."""
    where = name(obj)
    problems = []
    if obj["apiVersion"] != "monitoring.coreos.com/v1":
        return [f"{where}: apiVersion {obj['apiVersion']}, not monitoring.coreos.com/v1"]
    spec = obj.get("spec") or {}
    if obj["kind"] == "ServiceMonitor":
        labels = (spec.get("selector") or {}).get("matchLabels") or {}
        if not labels:
            problems.append(f"{where}: spec.selector.matchLabels is required here")
        selected = [s for s in services.values() if labels.items() <= s["metadata"].get("labels", {}).items()]
        if len(selected) != 1:
            problems.append(f"{where}: selects {len(selected)} Services, not one")
        if not spec.get("endpoints"):
            problems.append(f"{where}: spec.endpoints is required")
        for endpoint in spec.get("endpoints", []):
            if unknown := set(endpoint) - ENDPOINT_FIELDS:
                problems.append(f"{where}: endpoint fields {sorted(unknown)} are not checked here")
            if not isinstance(endpoint.get("port"), str):
                problems.append(f"{where}: endpoint port must be a Service port's name")
            elif selected and endpoint["port"] not in {p["name"] for p in selected[0]["spec"]["ports"]}:
                problems.append(f"{where}: {name(selected[0])} has no port {endpoint['port']}")
            for field in ("interval", "scrapeTimeout"):
                if field in endpoint and not DURATION.match(endpoint[field]):
                    problems.append(f"{where}: {field} {endpoint[field]!r} is not a Prometheus duration")
            if not isinstance(endpoint.get("honorLabels", False), bool):
                problems.append(f"{where}: honorLabels must be a boolean")
            for relabel in endpoint.get("relabelings", []):
                if relabel.get("action", "replace") not in RELABEL_ACTIONS or not relabel.get("targetLabel"):
                    problems.append(f"{where}: relabeling {relabel} needs a known action and a targetLabel")
    elif obj["kind"] == "PrometheusRule":
        if not spec.get("groups"):
            problems.append(f"{where}: spec.groups is required")
        for group in spec.get("groups", []):
            if not group.get("name") or not group.get("rules"):
                problems.append(f"{where}: every group needs a name and rules")
            if "interval" in group and not DURATION.match(group["interval"]):
                problems.append(f"{where}: group {group.get('name')} interval {group['interval']!r}")
            for rule in group.get("rules", []):
                if not isinstance(rule.get("expr"), str) or ("record" in rule) == ("alert" in rule):
                    problems.append(f"{where}: rule {rule} needs an expr and one of record or alert")
    else:
        problems.append(f"{where}: no check for this kind")
    return problems


def schema_problems(objects: list[dict[str, Any]]) -> list[str]:
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    problems = []
    for obj in objects:
        if obj["apiVersion"].startswith(OPERATOR_GROUP):
            problems += operator_problems(obj, services)
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{name(obj)}: {exc.message} at {'.'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{name(obj)}: {exc.message}")
    return problems


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay.name: render(overlay) for overlay in OVERLAYS}


def test_the_overlays_are_there():
    assert {"small", "large", "prometheus-operator"} <= {overlay.name for overlay in OVERLAYS}


def test_every_overlay_validates_against_the_schemas(rendered):
    for overlay, objects in rendered.items():
        assert len(objects) > 10, overlay
        assert schema_problems(objects) == [], overlay
        for obj in objects:
            if obj["kind"] != "Namespace":
                assert obj["metadata"].get("namespace") == NAMESPACE, f"{overlay}: {name(obj)}"


def test_every_container_is_hardened_sized_and_probed(rendered):
    for overlay, objects in rendered.items():
        checked = 0
        for obj in objects:
            for pod, container in containers(obj):
                where = f"{overlay}: {name(obj)} container {container['name']}"
                pod_context, context = pod.get("securityContext", {}), container.get("securityContext", {})
                effective = {**pod_context, **context}
                assert effective.get("runAsNonRoot") is True, where
                assert effective.get("runAsUser", 0) != 0, where
                assert effective.get("seccompProfile") == {"type": "RuntimeDefault"}, where
                assert context.get("allowPrivilegeEscalation") is False, where
                assert context.get("readOnlyRootFilesystem") is True, where
                assert context.get("capabilities") == {"drop": ["ALL"]}, where
                assert context.get("privileged") is not True, where
                assert pod.get("automountServiceAccountToken") is False, where
                assert pod.get("enableServiceLinks") is False, where  # Locust reads LOCUST_MASTER_PORT
                for kind in ("requests", "limits"):
                    assert set(container.get("resources", {}).get(kind, {})) == {"cpu", "memory"}, f"{where} {kind}"
                for probe in ("readinessProbe", "livenessProbe"):
                    assert container.get(probe), f"{where}: no {probe}"
                # the read-only root filesystem: where the project's image writes is a volume
                if container["image"].startswith("loadlab:"):
                    assert "/tmp" in {m["mountPath"] for m in container.get("volumeMounts", [])}, where
                checked += 1
        assert checked >= 6, overlay


def test_the_images_are_the_compose_stacks(rendered):
    for overlay in OVERLAYS:
        assert image_problems(overlay, rendered[overlay.name]) == []
    base_images = yaml.safe_load((BASE / "kustomization.yaml").read_text())["images"]
    pinned = {f"{entry['name']}:{entry['newTag']}" for entry in base_images}
    assert pinned <= compose_images(), "the base's images: are the compose stack's"
    used = {c["image"] for objects in rendered.values() for obj in objects for _, c in containers(obj)}
    assert used == pinned, "every image the base pins is used, and no other"


def test_the_secret_is_the_users(rendered):
    """No Secret in the repository: the pods read the one the user creates (docs/kubernetes.md)."""
    for overlay, objects in rendered.items():
        assert [name(o) for o in objects if o["kind"] == "Secret"] == [], overlay
        keys = set()
        for obj in objects:
            for _, container in containers(obj):
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["name"] == "loadlab", overlay
                        keys.add(ref["key"])
        assert keys == {"postgres-password", "locust-web-password"}, overlay


def test_the_worker_replicas_are_the_overlays_generator_pods(rendered):
    def replicas(overlay: str, deployment: str) -> int:
        (obj,) = [o for o in rendered[overlay] if name(o) == f"Deployment/{deployment}"]
        return obj["spec"]["replicas"]

    assert replicas("small", "locust-worker") == 2
    assert replicas("large", "locust-worker") == 8


@pytest.mark.parametrize(
    ("images", "named"),
    [
        # a variable nobody expands: kustomize writes it into the image as it is
        ([{"name": "loadlab", "newTag": "${LOADLAB_VERSION}"}], "'loadlab:${LOADLAB_VERSION}'"),
        # a misspelt name: kustomize changes nothing and says nothing
        ([{"name": "loadlab-app", "newTag": "0.2.0"}], "'loadlab-app' matches no container image"),
    ],
)
def test_an_overlay_with_a_wrong_image_is_named(tmp_path, images, named):
    overlay = tmp_path / "broken"
    overlay.mkdir()
    kustomization = {"resources": [os.path.relpath(BASE, overlay)], "images": images}  # kustomize wants it relative
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    problems = image_problems(overlay, render(overlay))
    assert problems, "the broken overlay passed"
    assert any(str(overlay) in line and named in line for line in problems), problems
