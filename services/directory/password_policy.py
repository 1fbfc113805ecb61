"""Password rules, checked wherever a password is set (a person created with one, an invitation
accepted). No I/O: the service calls `problems()` and refuses with the messages.

Length is what protects most (NIST SP 800-63B: at least 8, we ask 10, no composition rules);
on top of it a password must not be the person's own address or name, and not one of the
passwords every guessing list starts with.
"""

from __future__ import annotations

MIN_LENGTH = 10
MAX_LENGTH = 256

# the head of the usual guessing lists, German and English, at the minimum length or longer
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "1111111111",
        "0000000000",
        "123456789a",
        "a123456789",
        "qwertzuiop",
        "qwertyuiop",
        "asdfghjkl1",
        "password12",
        "password123",
        "password1234",
        "passwort12",
        "passwort123",
        "passwort1234",
        "passwort!!",
        "hallo12345",
        "hallohallo",
        "schatz1234",
        "sommer2024",
        "sommer2025",
        "sommer2026",
        "winter2025",
        "winter2026",
        "fruehling2026",
        "herbst2026",
        "iloveyou12",
        "letmein123",
        "welcome123",
        "willkommen",
        "willkommen1",
        "willkommen123",
        "administrator",
        "admin12345",
        "geheim1234",
        "geheimgeheim",
        "sachsen-anhalt",
        "sachsenanhalt",
        "magdeburg1",
        "magdeburg123",
        "gdst-demo",
        "gdst-demo-passwort",
        "changeme123",
        "football12",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "abc1234567",
        "abcdefghij",
    }
)

TOO_SHORT = f"Das Passwort muss mindestens {MIN_LENGTH} Zeichen lang sein."
TOO_LONG = f"Das Passwort darf höchstens {MAX_LENGTH} Zeichen lang sein."
IS_EMAIL = "Das Passwort darf nicht Ihre E-Mail-Adresse sein oder sie enthalten."
IS_NAME = "Das Passwort darf nicht Ihr Name sein."
TOO_COMMON = "Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte wählen Sie ein anderes."
ONE_CHARACTER = "Das Passwort darf nicht aus nur einem, wiederholten Zeichen bestehen."


def problems(password: str, email: str = "", name: str = "") -> list[str]:
    """Every rule the password breaks, as German messages for the field (empty: acceptable)."""
    found: list[str] = []
    if len(password) < MIN_LENGTH:
        found.append(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        found.append(TOO_LONG)
    folded = password.casefold().strip()
    address = email.casefold().strip()
    local = address.split("@", 1)[0]
    if address and (address in folded or (len(local) >= 4 and folded == local)):
        found.append(IS_EMAIL)
    if name and folded.replace(" ", "") == name.casefold().replace(" ", ""):
        found.append(IS_NAME)
    if folded in COMMON:
        found.append(TOO_COMMON)
    elif password and len(set(password)) == 1:
        found.append(ONE_CHARACTER)
    return found
