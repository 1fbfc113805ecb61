"""Rules of polls without I/O: method defaults, ballot validation, tie rules, counting input."""

from __future__ import annotations

from collections.abc import Sequence

from services.contracts import polls as c
from services.contracts.envelope import FieldError
from services.runtime.errors import Invalid, field
from services.runtime.mongo import Document
from services.surveys.polls import counting

BALLOT_FIELD = {
    "single": "choice",
    "approval": "choices",
    "dot": "points",
    "score": "scores",
    "borda": "ranking",
    "schulze": "ranking",
}

TIE_RULES = {
    "single": "Meiste Stimmen gewinnen. Bei gleicher Stimmenzahl wird nichts gelost: Das Ergebnis "
    "weist den Gleichstand aus, und die Moderation entscheidet.",
    "approval": "Meiste Zustimmungen gewinnen. Bei gleicher Zahl wird nichts gelost: Das Ergebnis "
    "weist den Gleichstand aus, und die Moderation entscheidet.",
    "dot": "Meiste Punkte gewinnen. Bei gleicher Punktzahl wird nichts gelost: Das Ergebnis weist "
    "den Gleichstand aus, und die Moderation entscheidet.",
    "score": "Höchster Mittelwert gewinnt; bei gleichem Mittelwert entscheidet die Zahl der "
    "Höchstbewertungen (5). Bleibt es gleich, weist das Ergebnis den Gleichstand aus.",
    "borda": "Meiste Borda-Punkte gewinnen; nicht gereihte Optionen teilen sich die übrigen Punkte. "
    "Bei gleicher Punktzahl weist das Ergebnis den Gleichstand aus.",
    "schulze": "Schulze-Methode (stärkste Pfade nach Gewinnstimmen). Optionen, die einander nicht "
    "schlagen, teilen sich den Rang; ein Gleichstand an der Grenze wird ausgewiesen.",
}


def default_points(options: int) -> int:
    """The usual rule of thumb for dot voting: options ÷ 2 + 1."""
    return options // 2 + 1


def complete_method(method: c.Method, options: int) -> c.Method:
    """Check the method's numbers against its kind and fill in the defaults."""
    errors: list[FieldError] = []
    kind = method.kind
    if kind != "dot":
        for name in ("points", "max_per_option", "cumulative"):
            if getattr(method, name) is not None:
                errors.append(field(f"method.{name}", "Nur bei der Punktabfrage (dot) möglich."))
    if kind != "approval" and method.max_choices is not None:
        errors.append(field("method.max_choices", "Nur bei der Zustimmungswahl (approval) möglich."))
    if errors:
        raise Invalid("Die Angaben passen nicht zur Methode.", errors)
    if kind == "approval":
        max_choices = method.max_choices or options
        if max_choices > options:
            raise Invalid(
                "Zu viele Stimmen je Person.",
                [field("method.max_choices", f"Höchstens {options} (so viele Optionen gibt es).")],
            )
        return c.Method(kind=kind, max_choices=max_choices)
    if kind == "dot":
        points = method.points or default_points(options)
        cumulative = True if method.cumulative is None else method.cumulative
        cap = method.max_per_option
        if not cumulative:
            if cap is not None and cap != 1:
                raise Invalid(
                    "Ohne Häufeln ist höchstens 1 Punkt je Option möglich.",
                    [field("method.max_per_option", "Ohne Häufeln ist höchstens 1 Punkt je Option möglich.")],
                )
            cap = 1
            if points > options:
                raise Invalid(
                    "Ohne Häufeln kann niemand mehr Punkte vergeben, als es Optionen gibt.",
                    [field("method.points", f"Höchstens {options} ohne Häufeln.")],
                )
        if cap is not None and cap > points:
            raise Invalid(
                "Die Obergrenze je Option ist größer als das Budget.",
                [field("method.max_per_option", f"Höchstens {points} (das Budget).")],
            )
        return c.Method(kind=kind, points=points, max_per_option=cap, cumulative=cumulative)
    return c.Method(kind=kind)


def _known(option_ids: Sequence[str], value: str, where: str, errors: list[FieldError]) -> bool:
    if value not in option_ids:
        errors.append(field(where, f"Unbekannte Option „{value}“."))
        return False
    return True


def ballot_content(method: c.Method, option_ids: Sequence[str], ballot: c.BallotInput) -> Document:
    """Validate a ballot against the method; return what is stored of it.

    Raises `Invalid` naming each problem: wrong shape, unknown option, duplicate in a ranking,
    over budget, above the cap per option, too many choices.
    """
    wanted = BALLOT_FIELD[method.kind]
    given = [
        name
        for name in ("choice", "choices", "points", "scores", "ranking")
        if getattr(ballot, name) is not None
    ]
    if given != [wanted]:
        shape = [
            field(name, f"Diese Abstimmung erwartet nur „{wanted}“.") for name in given if name != wanted
        ]
        if wanted not in given:
            shape.append(field(wanted, "Pflichtfeld fehlt."))
        raise Invalid(f"Der Stimmzettel muss genau „{wanted}“ enthalten.", shape)
    errors: list[FieldError] = []
    content: Document
    if method.kind == "single":
        assert ballot.choice is not None
        _known(option_ids, ballot.choice, "choice", errors)
        content = {"choice": ballot.choice}
    elif method.kind == "approval":
        choices = ballot.choices or []
        seen: set[str] = set()
        for i, option in enumerate(choices):
            if _known(option_ids, option, f"choices[{i}]", errors) and option in seen:
                errors.append(field(f"choices[{i}]", "Diese Option ist doppelt angekreuzt."))
            seen.add(option)
        if not choices:
            errors.append(field("choices", "Bitte wählen Sie mindestens eine Option."))
        elif method.max_choices is not None and len(seen) > method.max_choices:
            errors.append(field("choices", f"Höchstens {method.max_choices} Optionen erlaubt."))
        content = {"choices": list(choices)}
    elif method.kind == "dot":
        points = ballot.points or {}
        for option, value in points.items():
            if not _known(option_ids, option, f"points.{option}", errors):
                continue
            if value < 0:
                errors.append(field(f"points.{option}", "Punkte können nicht negativ sein."))
            elif method.max_per_option is not None and value > method.max_per_option:
                errors.append(
                    field(f"points.{option}", f"Höchstens {method.max_per_option} Punkt(e) je Option.")
                )
        total = sum(v for v in points.values() if v > 0)
        budget = method.points or 0
        if total > budget:
            errors.append(field("points", f"Sie haben {total} Punkte vergeben, erlaubt sind {budget}."))
        elif total == 0:
            errors.append(field("points", "Bitte vergeben Sie mindestens einen Punkt."))
        content = {"points": [points.get(o, 0) for o in option_ids]}
    elif method.kind == "score":
        scores = ballot.scores or {}
        for option, value in scores.items():
            if _known(option_ids, option, f"scores.{option}", errors) and not (
                c.SCORE_MIN <= value <= c.SCORE_MAX
            ):
                errors.append(
                    field(f"scores.{option}", f"Bewertungen reichen von {c.SCORE_MIN} bis {c.SCORE_MAX}.")
                )
        content = {"scores": [scores.get(o, 0) for o in option_ids]}
    else:
        ranking = ballot.ranking or []
        seen = set()
        for i, option in enumerate(ranking):
            if _known(option_ids, option, f"ranking[{i}]", errors) and option in seen:
                errors.append(field(f"ranking[{i}]", f"„{option}“ steht doppelt in der Rangfolge."))
            seen.add(option)
        if not ranking:
            errors.append(field("ranking", "Bitte reihen Sie mindestens eine Option."))
        content = {"ranking": list(ranking)}
    if errors:
        raise Invalid("Der Stimmzettel ist ungültig.", errors)
    return content


def ballot_input(content: Document, option_ids: Sequence[str]) -> c.BallotInput:
    """A stored ballot as the caller would send it."""
    if "choice" in content:
        return c.BallotInput(choice=content["choice"])
    if "choices" in content:
        return c.BallotInput(choices=list(content["choices"]))
    if "points" in content:
        return c.BallotInput(points={o: v for o, v in zip(option_ids, content["points"], strict=True) if v})
    if "scores" in content:
        return c.BallotInput(scores=dict(zip(option_ids, content["scores"], strict=True)))
    return c.BallotInput(ranking=list(content.get("ranking") or []))


def count(method: str, option_ids: Sequence[str], ballots: Sequence[Document], seats: int) -> counting.Tally:
    """Hand the stored ballots to the counting module (option ids become numbers)."""
    n = len(option_ids)
    index = {o: i for i, o in enumerate(option_ids)}
    if method == "single":
        return counting.single(n, [index[b["choice"]] for b in ballots], seats)
    if method == "approval":
        return counting.approval(n, [[index[o] for o in b["choices"]] for b in ballots], seats)
    if method == "dot":
        return counting.dot(n, [b["points"] for b in ballots], seats)
    if method == "score":
        return counting.score(n, [b["scores"] for b in ballots], seats)
    rankings = [[index[o] for o in b["ranking"]] for b in ballots]
    if method == "borda":
        return counting.borda(n, rankings, seats)
    return counting.schulze(n, rankings, seats)
