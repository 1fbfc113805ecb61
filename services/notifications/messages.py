"""What a person is told about an event: German title, text and link. No I/O.

Context (the need's title, organisation names) is looked up by the caller and passed in, so
these functions stay pure and testable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.contracts import notifications as n
from services.contracts.notifications import TOPIC_BY_TYPE


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    link: str


def compose(event_type: str, data: dict[str, Any], ctx: dict[str, Any]) -> Message:
    """`ctx` holds `title` (of the need or pilot), `org` (the acting organisation's name) and, for a
    "betrifft uns auch" past the first few, `count` (the Kommunen affected now)."""
    title = ctx.get("title", "")
    org = ctx.get("org", "")
    if event_type == "need.supported" and ctx.get("count"):
        # past the first few: a round figure, told to every supporting Kommune
        return Message(
            f"„{title}“ betrifft jetzt {ctx['count']} Kommunen",
            f"{org} hat beim Bedarf „{title}“ „Betrifft uns auch“ gewählt. "
            f"Damit sind {ctx['count']} Kommunen betroffen.",
            f"/bedarfe/{data['need_id']}",
        )
    if event_type == "need.supported":
        return Message(
            f"„{title}“: {org} ist auch betroffen",
            f"{org} hat beim Bedarf „{title}“ „Betrifft uns auch“ gewählt.",
            f"/bedarfe/{data['need_id']}",
        )
    if event_type == "need.support_withdrawn":
        return Message(
            f"„{title}“: {org} ist nicht mehr betroffen",
            f"{org} hat „Betrifft uns auch“ beim Bedarf „{title}“ zurückgezogen.",
            f"/bedarfe/{data['need_id']}",
        )
    if event_type == "need.status_changed":
        status = ctx.get("status_label", data.get("status", ""))
        reason = f" Begründung: {data['reason']}" if data.get("reason") else ""
        return Message(
            f"„{title}“ ist jetzt: {status}",
            f"Der Status des Bedarfs „{title}“ wurde auf „{status}“ gesetzt.{reason}",
            f"/bedarfe/{data['need_id']}",
        )
    if event_type == "need.solution_added":
        return Message(
            f"Neuer Lösungsansatz für „{title}“",
            f"{org} hat den Lösungsansatz „{data.get('title', '')}“ zum Bedarf „{title}“ ergänzt.",
            f"/bedarfe/{data['need_id']}",
        )
    if event_type == "pilot.opened":
        return Message(
            f"Neues Pilotvorhaben: {data.get('title', title)}",
            f"Zu einem Bedarf Ihrer Kommune gibt es das Pilotvorhaben „{data.get('title', title)}“ "
            f"mit {data.get('capacity')} Plätzen. Ihre Kommune kann sich bis zum {ctx.get('deadline', '')} anmelden.",
            f"/piloten/{data['pilot_id']}",
        )
    if event_type == "pilot.full":
        return Message(
            f"„{title}“ ist ausgebucht",
            f"Alle {data.get('capacity')} Plätze im Pilotvorhaben „{title}“ sind vergeben; "
            "weitere Anmeldungen kommen auf die Warteliste.",
            f"/piloten/{data['pilot_id']}",
        )
    if event_type == "pilot.selection_made":
        return Message(
            f"Auswahl für „{title}“ getroffen",
            f"Das Ministerium hat die teilnehmenden Kommunen für „{title}“ ausgewählt. "
            "Auf der Seite des Pilotvorhabens sehen Sie, ob Ihre Kommune dabei ist.",
            f"/piloten/{data['pilot_id']}",
        )
    if event_type in ("survey.published", "survey.reminder_requested", "survey.closing_soon"):
        survey = data.get("title", "")
        closes = ctx.get("closes", "")
        link = f"/umfragen/{data['survey_id']}"
        if event_type == "survey.published":
            return Message(
                f"Neue Umfrage: {survey}",
                f"Das Ministerium bittet um Ihre Antwort auf die Umfrage „{survey}“ bis zum {closes}.",
                link,
            )
        if event_type == "survey.reminder_requested":
            return Message(
                f"Erinnerung: {survey}",
                f"Ihre Antwort auf die Umfrage „{survey}“ fehlt noch. Die Umfrage endet am {closes}.",
                link,
            )
        return Message(
            f"Umfrage endet bald: {survey}",
            f"Die Umfrage „{survey}“ endet am {closes}. Ihre Antwort fehlt noch.",
            link,
        )
    if event_type == "poll.opened":
        return Message(
            f"Neue Abstimmung: {data.get('title', '')}",
            f"Sie können bis zum {ctx.get('closes', '')} an der Abstimmung „{data.get('title', '')}“ teilnehmen.",
            f"/abstimmungen/{data['poll_id']}",
        )
    if event_type == "poll.closed":
        winners = ", ".join(ctx.get("winners", [])) or "noch offen"
        return Message(
            f"Ergebnis: {data.get('title', '')}",
            f"Die Abstimmung „{data.get('title', '')}“ ist beendet ({data.get('ballots', 0)} Stimmen). "
            f"Gewählt: {winners}.",
            f"/abstimmungen/{data['poll_id']}/ergebnis",
        )
    if event_type == "topic.selected":
        return Message(
            f"Thema ausgewählt: {data.get('title', '')}",
            f"Ihre AG hat das Thema „{data.get('title', '')}“ ausgewählt.",
            f"/themen/{data['topic_id']}",
        )
    if event_type.startswith("meeting."):
        return _meeting(event_type, data, ctx)
    if event_type == "spotlight.status_changed":
        kind = ctx.get("kind_label", "Spotlight")
        status = ctx.get("status_label", data.get("status", ""))
        answer = f" Antwort des Ministeriums: {data['answer']}" if data.get("answer") else ""
        comment = f" Kommentar: {data['comment']}" if data.get("comment") else ""
        return Message(
            f"{kind} „{data.get('title', '')}“ ist jetzt: {status}",
            f"Der {kind} „{data.get('title', '')}“ hat den Status „{status}“.{comment}{answer}",
            f"/spotlights/{data['spotlight_id']}",
        )
    return Message(event_type, "", "/")


def _meeting(event_type: str, data: dict[str, Any], ctx: dict[str, Any]) -> Message:
    title = data.get("title", "")
    when = ctx.get("when", "")
    link = f"/termine/{data['meeting_id']}"
    if event_type == "meeting.occurrence_upcoming":
        where = data.get("location") or data.get("online_url") or ""
        place = f" Ort: {where}." if where else ""
        return Message(
            f"Erinnerung: {title} am {when}", f"Der Termin „{title}“ beginnt am {when}.{place}", link
        )
    if event_type == "meeting.created":
        return Message(
            f"Neuer Termin: {title}", f"Für Ihre AG ist der Termin „{title}“ ab {when} geplant.", link
        )
    if event_type == "meeting.changed":
        return Message(
            f"Geändert: {title}", f"Der Termin „{title}“ wurde geändert. Bitte prüfen Sie Zeit und Ort.", link
        )
    if event_type == "meeting.occurrence_cancelled":
        return Message(
            f"Abgesagt: {title} am {when}",
            f"Der Termin „{title}“ am {when} fällt aus. Grund: {data.get('reason', '')}",
            link,
        )
    if event_type == "meeting.occurrence_moved":
        return Message(
            f"Verschoben: {title}",
            f"Der Termin „{title}“ vom {ctx.get('was', '')} findet am {when} statt.",
            link,
        )
    if event_type == "meeting.cancelled":
        return Message(
            f"Abgesagt: {title}",
            f"Der Termin „{title}“ ist ganz abgesagt (alle Termine). Grund: {data.get('reason', '')}",
            link,
        )
    return Message(title, "", link)


def preference(stored: dict[str, Any] | None, event_type: str) -> n.Preference:
    """The person's choice for an event type, or the topic's default."""
    if stored and event_type in stored:
        value = stored[event_type]
        return n.Preference(email=value["email"], inapp=bool(value["inapp"]))
    topic = TOPIC_BY_TYPE.get(event_type)
    if topic is None:
        return n.Preference(email="off", inapp=False)
    return n.Preference(email=topic.email, inapp=topic.inapp)
