"""French phone numbers: one canonical E.164 form, and the spellings a stored number may have."""

from __future__ import annotations

import re

_NOT_DIGIT = re.compile(r"[^\d+]")


def normalise_phone(raw: str) -> str:
    """'06 12 34 56 78', '+33 6 12 34 56 78', '0033612345678', '612345678' -> '+33612345678'.

    Non-French international numbers keep their '+' form; anything unparseable comes back as its digits.
    """
    text = _NOT_DIGIT.sub("", raw or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text.lstrip("+")
    if text.startswith("+33"):
        national = digits[2:].lstrip("0")
        return f"+33{national}" if len(national) == 9 else text
    if text.startswith("+"):
        return text
    if len(digits) == 10 and digits.startswith("0"):
        return f"+33{digits[1:]}"
    if len(digits) == 9 and digits[0] in "123456789":
        return f"+33{digits}"
    return digits


def national_format(phone: str) -> str:
    """'+33612345678' -> '0612345678' (other numbers unchanged)."""
    canonical = normalise_phone(phone)
    if canonical.startswith("+33") and len(canonical) == 12:
        return "0" + canonical[3:]
    return canonical


def phone_variants(raw: str) -> list[str]:
    """Spellings under which a number may have been stored by hand or by older imports."""
    canonical = normalise_phone(raw)
    national = national_format(canonical)
    variants = [canonical, national]
    if len(national) == 10 and national.startswith("0"):
        pairs = [national[i : i + 2] for i in range(0, 10, 2)]
        variants += [" ".join(pairs), ".".join(pairs), "-".join(pairs)]
        variants.append("+33 " + national[1] + " " + " ".join(pairs[1:]))
    return list(dict.fromkeys(v for v in variants if v))
