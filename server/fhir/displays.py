"""A display checked against a concept's names in the languages asked for (displayLanguage, Accept-Language).

With no language asked for, the display and every designation are valid. With languages,
only the names in those languages are (a tag matches its subtags both ways: de and de-CH);
when the concept has no name in them, a display valid in the code system's own language
passes with a note, and another is wrong.
"""

from .outcome import issue


def languages(text: str | None) -> list[str]:
    """'en, en-AU; q=0.4' -> ['en', 'en-AU']."""
    return [part.split(";")[0].strip() for part in (text or "").split(",") if part.split(";")[0].strip()]


def _matches(wanted: list[str], tag: str | None) -> bool:
    tag = (tag or "").lower()
    return bool(tag) and any(w.lower() == tag or tag.startswith(w.lower() + "-") or w.lower().startswith(tag + "-")
                             for w in wanted)


def names(cs, concept) -> list[tuple]:
    """(language, name) of the display and the designations; no language means the code system's."""
    default = getattr(cs, "language", None)
    out = [(default, concept.display)] if concept.display else []
    return out + [(d.get("language") or default, d.get("value")) for d in concept.designations if d.get("value")]


def shown(cs, concept, asked: str | None) -> str | None:
    """The display to answer with: the first name in a language asked for, else the display."""
    wanted = languages(asked)
    return next((n for lang, n in names(cs, concept) if _matches(wanted, lang)), concept.display) if wanted else concept.display


def check(cs, concept, given: str, asked: str | None, lenient: bool, where: str):
    """None when `given` is a valid display, else the issue to report."""
    every = names(cs, concept)
    wanted = languages(asked)
    valid = [(lang, n) for lang, n in every if _matches(wanted, lang)] if wanted else every
    if any(n == given for _, n in valid):
        return None
    severity = "warning" if lenient else "error"
    about = f"{cs.url}#{concept.code}"
    if wanted and not valid:
        if any(n == given for _, n in every):
            return issue("information", "invalid", f"There are no valid display names found for the code {about} for "
                         f"language(s) '{asked}'. The display is '{given}' which is a valid display for the default language",
                         "invalid-display", where)
        return issue(severity, "invalid", f"Wrong Display Name '{given}' for {about}. There are no valid display names "
                     f"found for language(s) '{asked}'. Default display is '{concept.display}'", "invalid-display", where)
    lang, name = valid[0] if valid else (None, concept.display)
    return issue(severity, "invalid", f"Wrong Display Name '{given}' for {about}. Valid display is '{name}'"
                 f"{f' ({lang})' if lang else ''} (for the language(s) '{asked or '--'}')", "invalid-display", where)
