"""Rules behind the hardening: NATS permissions per process kind, which errors are final."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aiosmtplib
import pymongo.errors
import pytest

from services.contracts.names import Names
from services.notifications.mailqueue import permanent
from services.runtime import natsauth
from services.runtime.rpc import storage_full
from tests.support.servers import NATS_SERVER

pytestmark = pytest.mark.hardening


class TestNatsPermissions:
    def test_only_services_reach_internal_subjects_and_only_their_own_requests(self) -> None:
        gateway = natsauth.permissions("gateway")
        needs = natsauth.permissions("needs")
        assert "*.svc.>" not in gateway["publish"]["allow"]
        assert "*.rpc.>" in gateway["publish"]["allow"]
        assert "*.events.>" not in gateway["publish"]["allow"], "the gateway states no facts"
        assert "*.svc.>" in needs["publish"]["allow"]
        assert {"*.rpc.needs.>", "*.svc.needs.>"} <= set(needs["subscribe"]["allow"])
        assert not any("directory" in s for s in needs["subscribe"]["allow"])
        assert "*.live.>" in natsauth.permissions("surveys")["publish"]["allow"]
        assert "*.live.>" not in needs["publish"]["allow"]

    def test_subjects_match_the_names(self) -> None:
        names = Names("gdst")
        assert names.rpc("needs", "report").startswith("gdst.rpc.needs.")
        assert names.internal_rpc("needs", "report") == "gdst.svc.needs.report"
        allow = natsauth.permissions("gateway", "gdst")["publish"]["allow"]
        assert "gdst.rpc.>" in allow
        # gateways tell each other to forget a revoked token; nothing else under `live`
        assert names.principal_changes in allow
        assert "gdst.live.>" not in allow

    def test_unknown_kind_gets_no_permissions_by_accident(self) -> None:
        with pytest.raises(ValueError):
            natsauth.permissions("outsider")

    def test_config_is_accepted_by_nats_server(self, tmp_path: Path) -> None:
        passwords = natsauth.new_passwords((*natsauth.PROCESS_KINDS, natsauth.OPS))
        config = natsauth.server_config(passwords, namespace="gdst")
        users = {u["user"]: u for u in json.loads(config)["authorization"]["users"]}
        assert set(users) == {*natsauth.PROCESS_KINDS, natsauth.OPS}
        assert "permissions" not in users[natsauth.OPS]
        assert "no_auth_user" not in json.loads(config), "a deployment has no anonymous user"
        path = tmp_path / "auth.conf"
        path.write_text(config)
        result = subprocess.run([str(NATS_SERVER), "-c", str(path), "-t"], capture_output=True, check=False)
        assert result.returncode == 0, result.stderr

    def test_deployment_files_are_owner_only_and_valid(self, tmp_path: Path) -> None:
        config, env = tmp_path / "auth.conf", tmp_path / "nats.env"
        assert natsauth.main([str(config), str(env), "--namespace", "gdst"]) == 0
        assert config.stat().st_mode & 0o077 == 0 and env.stat().st_mode & 0o077 == 0
        lines = dict(line.split("=", 1) for line in env.read_text().splitlines())
        assert set(lines) == {f"NATS_PASSWORD_{k.upper()}" for k in (*natsauth.PROCESS_KINDS, natsauth.OPS)}
        assert '"gdst.rpc.>"' in config.read_text()
        result = subprocess.run([str(NATS_SERVER), "-c", str(config), "-t"], capture_output=True, check=False)
        assert result.returncode == 0, result.stderr


class TestFinalErrors:
    def test_smtp_5xx_is_permanent_4xx_and_no_connection_are_not(self) -> None:
        assert permanent(aiosmtplib.SMTPRecipientRefused(550, "unknown", "a@b.de"))
        assert permanent(
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(553, "no", "a@b.de")])
        )
        assert not permanent(aiosmtplib.SMTPRecipientRefused(451, "later", "a@b.de"))
        assert not permanent(aiosmtplib.SMTPConnectError("refused"))
        assert not permanent(ConnectionRefusedError())

    def test_storage_full_is_recognised_from_ferretdb_and_mongodb(self) -> None:
        ferret = pymongo.errors.OperationFailure("[fsql] database or disk is full (13)", code=1)
        mongo = pymongo.errors.OperationFailure("out of disk space", code=14031)
        other = pymongo.errors.OperationFailure("E11000 duplicate key", code=11000)
        assert storage_full(ferret) and storage_full(mongo)
        assert not storage_full(other)
