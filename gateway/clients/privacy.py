"""Calls for the privacy features: the export asks every service, deletion and audit the directory."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import msgspec

from services.contracts import privacy as pv
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

EXPLANATION = (
    "Dies sind alle personenbezogenen Daten, die die GDST-Plattform zu Ihnen speichert "
    "(Auskunft nach Art. 15 DSGVO, Datenübertragbarkeit nach Art. 20 DSGVO). Jeder Abschnitt "
    "unter „services“ stammt aus einem Dienst der Plattform und enthält die Einträge, die Ihre "
    "Kennung tragen: Ihr Profil, Ihre AG-Mitgliedschaften und Zugangsschlüssel (ohne Geheimnisse), "
    "Bedarfe, Unterstützungen und Pilot-Anmeldungen, Umfrageantworten, Stimmabgaben und Themen, "
    "Benachrichtigungen, Einstellungen, Versandprotokolle und Webhooks. Passwörter und Schlüssel "
    "werden nie ausgegeben. Angaben Ihrer Kommune, die Sie für sie gemacht haben, bleiben nach "
    "einer Löschung Ihres Kontos bei der Kommune."
)


class PersonalDataExport(msgspec.Struct, kw_only=True):
    person_id: str
    generated_at: datetime
    explanation: str
    services: dict[str, dict[str, list[dict[str, Any]]]]


class PrivacyClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def export(self, who: Principal, person_id: str) -> PersonalDataExport:
        """One document from every service; if one does not answer the whole export fails (503/504)
        rather than look complete when it is not."""
        req = pv.ExportRequest(person_id=person_id)
        sections = await asyncio.gather(
            *(
                self.rpc.call(service, pv.EXPORT_ENDPOINT, req, pv.ExportSection, principal=who, timeout=30)
                for service in pv.PRIVACY_SERVICES
            )
        )
        return PersonalDataExport(
            person_id=person_id,
            generated_at=datetime.now(UTC),
            explanation=EXPLANATION,
            services={s.service: s.collections for s in sections},
        )

    async def delete(self, who: Principal, person_id: str) -> pv.DeletionAccepted:
        req = pv.DeletionRequest(person_id=person_id)
        return await self.rpc.call("directory", pv.DELETION_ENDPOINT, req, pv.DeletionAccepted, principal=who)

    async def audit(self, who: Principal, req: pv.AuditQuery) -> pv.AuditPage:
        return await self.rpc.call("directory", pv.AUDIT_ENDPOINT, req, pv.AuditPage, principal=who)
