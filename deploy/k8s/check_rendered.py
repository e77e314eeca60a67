#!/usr/bin/env python3
"""Policy checks on a rendered overlay (`kubectl kustomize deploy/k8s/overlays/X | check_rendered.py`).

kubernetes-validate checks the built-in kinds against the Kubernetes OpenAPI schemas but only
warns on CRD kinds (KEDA ScaledObject, Prometheus Operator PodMonitor), which it has no schema
for. This script covers what the schemas cannot:
  * every Deployment: liveness probe /healthz, readiness probe /readyz, CPU+memory requests and a
    memory limit, pod runAsNonRoot, container readOnlyRootFilesystem, no privilege escalation,
    capabilities dropped;
  * lda-trainer: exactly one replica, strategy Recreate;
  * every Deployment is covered by a PodDisruptionBudget and by the PodMonitor's selector;
  * ingest and scoring: a KEDA ScaledObject (keda.sh/v1alpha1) targeting them with a kafka
    trigger naming consumerGroup, topic and lagThreshold; minReplicaCount <= maxReplicaCount;
  * referenced ConfigMaps and Secrets exist in the render (Secrets may be external: --external-secrets);
  * the labeling-queue Ingress points at an existing Service and port.
Exit status 1 on any violation.
"""

import argparse
import sys

import yaml


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--external-secrets", action="store_true", help="Secrets are created out of band")
    ap.add_argument("file", nargs="?", default="-")
    args = ap.parse_args()
    text = sys.stdin.read() if args.file == "-" else open(args.file).read()
    docs = [d for d in yaml.safe_load_all(text) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    errors = []

    deployments = by_kind.get("Deployment", [])
    if len(deployments) != 4:
        errors.append(f"expected 4 Deployments, found {len(deployments)}")
    pdbs = by_kind.get("PodDisruptionBudget", [])
    monitors = by_kind.get("PodMonitor", []) + by_kind.get("ServiceMonitor", [])
    scaled = by_kind.get("ScaledObject", [])
    for d in deployments:
        n = d["metadata"]["name"]
        spec = d["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            errors.append(f"{n}: pod securityContext.runAsNonRoot is not true")
        for c in pod["containers"]:
            w = f"{n}/{c['name']}"
            if (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") != "/healthz":
                errors.append(f"{w}: livenessProbe is not GET /healthz")
            if (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/readyz":
                errors.append(f"{w}: readinessProbe is not GET /readyz")
            res = c.get("resources") or {}
            if not {"cpu", "memory"} <= set((res.get("requests") or {})):
                errors.append(f"{w}: cpu and memory requests required")
            if "memory" not in (res.get("limits") or {}):
                errors.append(f"{w}: memory limit required")
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{w}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{w}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                errors.append(f"{w}: capabilities.drop lacks ALL")
            for ef in c.get("envFrom") or []:
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    ref = ef.get(key)
                    if not ref or ref.get("optional"):
                        continue
                    if kind == "Secret" and args.external_secrets:
                        continue
                    if (kind, ref["name"]) not in names:
                        errors.append(f"{w}: envFrom {kind} {ref['name']} is not in the render")
        if n.endswith("lda-trainer"):
            if spec.get("replicas") != 1 or spec.get("strategy", {}).get("type") != "Recreate":
                errors.append(f"{n}: must have replicas 1 and strategy Recreate")
        if not any(matches(p["spec"].get("selector"), labels) for p in pdbs):
            errors.append(f"{n}: no PodDisruptionBudget selects its pods")
        if not any(matches(m["spec"].get("selector"), labels) for m in monitors):
            errors.append(f"{n}: no PodMonitor/ServiceMonitor selects its pods")
        if n.endswith(("-ingest", "-scoring")):
            so = [s for s in scaled if s["spec"]["scaleTargetRef"]["name"] == n]
            if len(so) != 1:
                errors.append(f"{n}: expected one KEDA ScaledObject, found {len(so)}")
            for s in so:
                if s.get("apiVersion") != "keda.sh/v1alpha1":
                    errors.append(f"{s['metadata']['name']}: apiVersion must be keda.sh/v1alpha1")
                if not s["spec"].get("minReplicaCount", 0) <= s["spec"].get("maxReplicaCount", 100):
                    errors.append(f"{s['metadata']['name']}: minReplicaCount > maxReplicaCount")
                trig = [t for t in s["spec"].get("triggers", []) if t.get("type") == "kafka"]
                if not trig or not all({"consumerGroup", "topic", "lagThreshold"} <= set(t["metadata"]) and
                                       ({"bootstrapServers", "bootstrapServersFromEnv"} & set(t["metadata"]))
                                       for t in trig):
                    errors.append(f"{s['metadata']['name']}: needs a kafka trigger with bootstrap servers, "
                                  "consumerGroup, topic and lagThreshold")
    for s in scaled:
        if ("Deployment", s["spec"]["scaleTargetRef"]["name"]) not in names:
            errors.append(f"ScaledObject {s['metadata']['name']}: target Deployment does not exist")
    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"].get("rules", []):
            for p in rule.get("http", {}).get("paths", []):
                svc = p["backend"]["service"]
                found = [s for s in by_kind.get("Service", []) if s["metadata"]["name"] == svc["name"]]
                if not found:
                    errors.append(f"Ingress {ing['metadata']['name']}: Service {svc['name']} missing")
                elif not any(pt.get("name") == svc["port"].get("name") or pt.get("port") == svc["port"].get("number")
                             for pt in found[0]["spec"]["ports"]):
                    errors.append(f"Ingress {ing['metadata']['name']}: port {svc['port']} not on Service {svc['name']}")
    if not by_kind.get("Ingress"):
        errors.append("no Ingress for labeling-queue")

    kinds = ", ".join(f"{k} x{len(v)}" for k, v in sorted(by_kind.items()))
    if errors:
        print(f"check_rendered: FAIL ({kinds})")
        for e in errors:
            print("  " + e)
        return 1
    print(f"check_rendered: ok ({kinds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
