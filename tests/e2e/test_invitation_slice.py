"""The foundation slice: the ministry invites a colleague, who sets a password and logs in."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.conftest import Stack


def invitation_link(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    match = re.search(r"http://gdst\.test(/einladung/[A-Za-z0-9_-]+)", part.get_content())
    assert match, "the mail carries the link to set the password"
    return match.group(1)


class TestInvitationSlice:
    async def test_invite_mail_accept_login_me(self, stack: Stack) -> None:
        ministry = await stack.login()
        invited = await ministry.post(
            "/api/v1/invitations",
            json={
                "email": "Nora.Neu@Halle.example",
                "name": "Nora Neu",
                "organisation_id": "15002",
                "roles": ["member"],
            },
        )
        assert invited.status_code == 201, invited.text
        assert invited.json()["email"] == "nora.neu@halle.example"

        [mail] = await stack.mailbox.wait_for("nora.neu@halle.example")
        assert mail["Subject"].startswith("Einladung")
        assert mail.get_body(("html",)) is not None, "the mail has an HTML part"
        assert "Halle (Saale)" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        link = invitation_link(mail)
        token = link.rsplit("/", 1)[1]

        anonymous = stack.client()
        page = await anonymous.get(link)
        assert page.status_code == 200
        assert "Nora Neu" in page.text

        accepted = await anonymous.post(
            f"/api/v1/invitations/{token}/accept", json={"password": "lange-genug-123"}
        )
        assert accepted.status_code == 200, accepted.text
        again = await anonymous.post(
            f"/api/v1/invitations/{token}/accept", json={"password": "lange-genug-456"}
        )
        assert again.status_code == 409, "an invitation works once"

        colleague = await stack.login("nora.neu@halle.example", "lange-genug-123")
        me = (await colleague.get("/api/v1/me")).json()
        assert me["organisation"] == {
            "id": "15002",
            "name": "Halle (Saale), Stadt",
            "kind": "kreisfreie_stadt",
            "ags": "15002",
        }
        assert me["roles"] == ["member"]
        assert me["groups"] == []

    async def test_person_without_password_gets_invitation(self, stack: Stack) -> None:
        ministry = await stack.login()
        created = await ministry.post(
            "/api/v1/people",
            json={
                "email": "otto@stendal.example",
                "name": "Otto",
                "organisation_id": "15090535",
                "roles": ["member"],
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["active"] is False
        await stack.mailbox.wait_for("otto@stendal.example")

    async def test_person_with_password_can_log_in_at_once(self, stack: Stack) -> None:
        ministry = await stack.login()
        created = await ministry.post(
            "/api/v1/people",
            json={
                "email": "lotte@gdst.example",
                "name": "Lotte Lotse",
                "organisation_id": "15",
                "roles": ["lotse"],
                "password": "lotsen-passwort",
            },
        )
        assert created.status_code == 201, created.text
        lotse = await stack.login("lotte@gdst.example", "lotsen-passwort")
        assert (await lotse.get("/api/v1/me")).json()["roles"] == ["lotse"]
        assert stack.mailbox.to("lotte@gdst.example") == []

    async def test_members_cannot_invite(self, stack: Stack) -> None:
        member = await stack.login("kommune-15003@gdst.example")
        response = await member.post(
            "/api/v1/invitations",
            json={
                "email": "x@magdeburg.example",
                "name": "X",
                "organisation_id": "15003",
                "roles": ["member"],
            },
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"

    async def test_inviting_an_active_email_again_conflicts(self, stack: Stack) -> None:
        ministry = await stack.login()
        response = await ministry.post(
            "/api/v1/invitations",
            json={
                "email": "kommune-15003@gdst.example",
                "name": "X",
                "organisation_id": "15003",
                "roles": ["member"],
            },
        )
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "email"
