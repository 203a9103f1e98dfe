"""The deployment files are what their tools accept: the compose file against the compose
specification's JSON schema (vendored in deploy/compose/schema/, with its source), the
Kubernetes manifests against Kubernetes' schemas (kubernetes-validate), the Containerfile
through hadolint, the systemd units through `systemd-analyze verify` where it exists, the
Prometheus rules and the Grafana dashboard through their structure and the metric names the
service really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
KUBERNETES_VERSION = "1.33.0"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _exported_metric_names() -> set[str]:
    """Every `vks_…` name the service's code declares (counters get `_total`, histograms
    `_bucket`, `_sum`, `_count` when exposed)."""
    names: set[str] = set()
    for source in (ROOT / "vks").rglob("*.py"):
        for name in re.findall(r'"(vks_[a-z_]+)"', source.read_text(encoding="utf-8")):
            names.add(name)
    exposed = set(names)
    for name in names:
        exposed |= {f"{name}_total", f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return exposed


# --- compose -----------------------------------------------------------------------------------
def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((DEPLOY / "compose" / "schema" / "compose-spec.json").read_text())
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))

    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)

    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_the_compose_schema_rejects_a_broken_file() -> None:
    schema = json.loads((DEPLOY / "compose" / "schema" / "compose-spec.json").read_text())
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    compose["services"]["api"]["restart"] = ["always"]  # a list where a string belongs

    assert list(jsonschema.Draft7Validator(schema).iter_errors(compose))


def test_the_region_runs_two_api_processes_behind_nginx_after_the_migration() -> None:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]

    assert services["api"]["deploy"]["replicas"] >= 2
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for role in ("api", "worker", "monitor"):
        waits_for = services[role]["depends_on"]
        assert waits_for["migrate"] == {"condition": "service_completed_successfully"}
        assert services[role]["restart"] == "unless-stopped"
        assert "vks_secret_key" in services[role]["secrets"]
    assert services["db"]["volumes"] == ["db-data:/var/lib/postgresql/data"]
    assert all("healthcheck" in services[name] for name in ("db", "redis", "api", "proxy"))


# --- the image ---------------------------------------------------------------------------------
def test_the_image_is_built_from_the_hash_checked_lock_and_runs_unprivileged() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")

    assert "--require-hashes -r /src/requirements/prod.txt" in text
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2  # multi-stage
    assert re.search(r"^USER 10001", text, re.MULTILINE)


def test_hadolint_finds_nothing_in_the_containerfile() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")

    run = subprocess.run(
        [hadolint, str(DEPLOY / "Containerfile")], capture_output=True, text=True, timeout=60
    )

    assert (run.returncode, run.stdout) == (0, "")


# --- Kubernetes --------------------------------------------------------------------------------
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_validates_against_kubernetes_schemas(manifest: Path) -> None:
    for document in _documents(manifest):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_manifest_with_a_misspelt_field_is_refused() -> None:
    (deployment, *_) = _documents(DEPLOY / "kubernetes" / "api.yaml")
    deployment["spec"]["replica"] = 2

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_cluster_has_every_piece_the_region_needs() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for m in MANIFESTS for d in _documents(m)}

    assert {
        ("Deployment", "vks-api"),
        ("HorizontalPodAutoscaler", "vks-api"),
        ("Service", "vks-api"),
        ("Ingress", "vks"),
        ("Deployment", "vks-worker"),
        ("StatefulSet", "vks-monitor"),
        ("Job", "vks-migrate-0-1-0"),
        ("PodDisruptionBudget", "vks-api"),
        ("PodDisruptionBudget", "vks-worker"),
        ("PodDisruptionBudget", "vks-monitor"),
    } <= kinds


def test_the_api_is_ready_when_its_dependencies_are_and_alive_when_it_answers() -> None:
    (deployment, *_) = _documents(DEPLOY / "kubernetes" / "api.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health/live"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


# --- systemd -----------------------------------------------------------------------------------
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_every_long_running_unit_kills_its_whole_process_group(unit: Path) -> None:
    text = unit.read_text(encoding="utf-8")
    if "Type=oneshot" in text:
        return
    assert "KillMode=control-group" in text
    assert "Restart=always" in text
    assert "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text


SYSTEMD_ABSENT = ("Failed to connect to bus", "System has not been booted with systemd")
"""What `systemd-analyze verify` says about the machine, not the units (a container)."""


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    # the units name /opt/vks/bin/vks and /etc/vks/vks.env: point them at this checkout
    vks = Path(sys.executable).parent / "vks"
    env = tmp_path / "vks.env"
    env.write_text((DEPLOY / "systemd" / "vks.env.example").read_text(encoding="utf-8"))
    for unit in [*UNITS, DEPLOY / "systemd" / "vks.target"]:
        text = unit.read_text(encoding="utf-8")
        text = text.replace("/opt/vks/bin/vks", str(vks)).replace("/etc/vks/vks.env", str(env))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    names = [str(tmp_path / n) for n in ("vks-api@8001.service", "vks-worker@1.service")]
    names += [str(tmp_path / "vks-monitor.service"), str(tmp_path / "vks-migrate.service")]
    for template in ("vks-api@.service", "vks-worker@.service"):
        instance = template.replace("@", "@8001" if "api" in template else "@1")
        shutil.copy(tmp_path / template, tmp_path / instance)

    run = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    problems = [
        line
        for line in run.stderr.splitlines()
        if line.strip() and not any(noise in line for noise in SYSTEMD_ABSENT)
    ]
    assert problems == [], run.stderr


# --- Prometheus and Grafana --------------------------------------------------------------------
def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "vks-alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_alert_rules_cover_failed_lessons_devices_queue_lag_and_workers() -> None:
    rules = {rule["alert"]: rule for rule in _rules()}

    assert {"VksLessonsFailed", "VksDevicesDown", "VksQueueLag", "VksNoWorkers"} <= set(rules)
    for rule in rules.values():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_the_rules_and_the_dashboard_ask_only_for_metrics_the_service_exports() -> None:
    exported = _exported_metric_names() | {"up"}
    dashboard = json.loads((DEPLOY / "grafana" / "vks-region.json").read_text())
    expressions = [rule["expr"] for rule in _rules()] + [
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    ]

    asked = {name for expr in expressions for name in re.findall(r"\b(vks_[a-z_]+|up)\b", expr)}

    assert asked - exported == set()
    assert {"vks_lessons", "vks_devices", "vks_queue_depth", "vks_workers"} <= asked


def test_the_dashboard_is_a_grafana_dashboard_with_unique_panels() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "vks-region.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]

    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
    assert len(ids) == len(set(ids))
    assert all(panel["targets"] for panel in dashboard["panels"])
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dashboard["panels"])
