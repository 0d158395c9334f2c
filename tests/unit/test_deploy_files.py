"""The production files agree with the code: the alert rules and the Grafana dashboard read only
series the processes expose (a renamed metric fails here, not on a quiet night), and
``make check`` validates every manifest the kustomization deploys (it runs promtool, the
Kubernetes schemas and hadolint on them)."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

import consumers.metrics
import ingest.metrics

ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"\bthreadline_[a-z_]+")
_SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}


def _exposed() -> set[str]:
    names = set()
    for module in (ingest.metrics, consumers.metrics):
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                kind, name = value._type, value._name
                names |= {name + suffix for suffix in _SUFFIXES[str(kind)]}
    return names


def _rule_expressions() -> list[str]:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/threadline.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_alert_reads_a_series_the_processes_expose() -> None:
    """Each metric an alert rule names is a counter, gauge or histogram series of ours."""
    used = {name for expr in _rule_expressions() for name in _NAME.findall(expr)}
    assert used
    assert used <= _exposed(), used - _exposed()


def test_every_dashboard_panel_reads_a_series_the_processes_expose() -> None:
    """Likewise for every query of the dashboard; and every alert's series has a panel."""
    used = {name for expr in _dashboard_expressions() for name in _NAME.findall(expr)}
    assert used <= _exposed(), used - _exposed()
    alerted = {name for expr in _rule_expressions() for name in _NAME.findall(expr)}
    assert alerted <= used, alerted - used


def test_make_check_validates_every_manifest_the_kustomization_deploys() -> None:
    """The Makefile's list of manifests is the kustomization's resources."""
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())
    makefile = (ROOT / "Makefile").read_text()
    [line] = [row for row in makefile.splitlines() if row.startswith("K8S_RESOURCES :=")]
    listed = line.split(":=", 1)[1].split()
    assert listed == [f"deploy/k8s/{name}" for name in kustomization["resources"]]
