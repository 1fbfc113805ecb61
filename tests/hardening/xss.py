"""The XSS payload and where it goes: every free-text field the seed fills, plus a person's name."""

from __future__ import annotations

from markupsafe import escape

# closes an attribute, opens a tag, runs script two ways; each way sets a flag a browser test
# can read (an alert would block the page)
PAYLOAD = '"\'><script>window.__xss=1</script><img src=x onerror="window.__xss=2">&'
ESCAPED = str(escape(PAYLOAD))
RAW_MARKERS = ("<script>window.__xss", "<img src=x onerror")

# the prefix each field of tests/hardening/support.py `seed` puts before the payload
FIELDS = {
    "need title": "Bedarf ",
    "need description": "Beschreibung ",
    "support comment": "Auch ",
    "solution title": "Lösung ",
    "solution description": "Ansatz ",
    "pilot title": "Pilot ",
    "pilot description": "Erprobung ",
    "pilot contact name": "Name ",
    # (a sign-up's note is stored but shown on no page, only in the API: nothing to escape)
    "survey title": "Umfrage ",
    "survey description": "Worum es geht ",
    "question text": "Frage ",
    "answer option": "Ja ",
    "text answer": "Antwort ",
    "topic title": "Thema ",
    "topic description": "Warum ",
    "poll title": "Abstimmung ",
    "poll option": "Option ",
    "draft survey title": "Entwurf ",
    "draft question text": "Entwurfsfrage ",
    "person name": "Eva ",
}
