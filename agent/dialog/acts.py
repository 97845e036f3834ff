"""Dialog acts in French and English: yes / no / unsure, corrections, repeat requests and goodbyes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from agent.dialog.text import normalise


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


# Checked in this order: "pas de problème" is a yes, "je sais pas" is unsure, "ça me va pas" is a no.
_YES_DESPITE_NEGATION = _rx(
    r"pas de (?:probleme|souci|soucis)", "sans (?:probleme|souci)", "pourquoi pas", "no problem", "no worries",
    "why not", "ca ne me derange pas", "ca me derange pas", "pas d inconvenient",
)
_UNSURE = _rx(
    r"(?:je )?(?:ne )?(?:sais|sait) pas", "je ne sais", "sais pas trop", "peut etre", "je suis pas sur",
    "je ne suis pas sur", "pas sur", "aucune idee", "je vais voir", "je reflechis", "bof", "not sure", "maybe",
    r"i don ?t know", "dunno", "perhaps", "i m not sure", "hmm+", "je verrai",
)
_NO = _rx(
    "non", "nan", "no", "nope", "pas du tout", "surtout pas", "absolument pas", "pas vraiment", "pas possible",
    r"(?:ne )?(?:me|nous) (?:va|convient|arrange) pas", "(?:ca )?(?:ne )?(?:va|marche|convient) pas",
    "pas ca", "negatif", "jamais", "impossible", r"not (?:really|at all|good)", r"(?:that|it) doesn ?t work",
    r"doesn ?t suit", "pas celui", "aucun", "ni l un ni l autre", "ne peux pas", "peux pas",
)
_YES = _rx(
    "oui", "ouais", "ouai", "oue", "ouaip", "yes", "yeah", "yep", "yup", "si", "d accord", "dac", "ok", "okay",
    "okey", "ca me va", "ca va", "ca marche", "ca m arrange", "ca me convient", "ca convient", "parfait",
    "parfaitement", "tres bien", "bien sur", "exactement", "exact", "c est ca", "c est bien ca", "tout a fait",
    "absolument", "volontiers", "entendu", "impeccable", "super", "nickel", "vas y", "allez y",
    "c est bon", "correct", "sure", "of course", "that s right", "perfect", "great", "fine",
    "sounds good", "that works", "alright", "all right", "agreed", "certainement", "affirmatif",
)


def yes_no(text: str) -> Answer | None:
    """'oui', 'ça me va', 'parfait' -> YES; 'non', 'pas du tout' -> NO; 'euh je sais pas' -> UNSURE."""
    key = normalise(text)
    if not key:
        return None
    if _YES_DESPITE_NEGATION.search(key):
        return Answer.YES
    if _UNSURE.search(key):
        return Answer.UNSURE
    if _NO.search(key):
        return Answer.NO
    return Answer.YES if _YES.search(key) else None


@dataclass(frozen=True, slots=True)
class Correction:
    """'non, pas mardi, mercredi' -> rejected 'mardi', replacement 'mercredi' (raw spans, to re-parse)."""

    rejected: str | None
    replacement: str | None


_CORRECTION_PATTERNS = (
    re.compile(
        r"^(?:(?:non|no|euh|ah)[\s,.!]+)*(?:pas|not)\s+(?P<rej>[^,;.]+?)\s*(?:[,;.]+\s*(?:mais\s+|but\s+)?|\s+mais\s+|"
        r"\s+but\s+)(?P<rep>\S.*?)[\s.!?]*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:je voulais dire|je veux dire|i meant|i mean|je me suis trompe\w*|correction|"
        r"pardon je me suis trompe\w*)[\s,:]+(?:plutot\s+|rather\s+)?(?P<rep>\S.*?)[\s.!?]*$",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:(?:non|no)[\s,.!]+)+(?:c est|it s|plutot|rather)\s+(?P<rep>\S.*?)[\s.!?]*$", re.IGNORECASE),
)


def correction(text: str) -> Correction | None:
    """A caller correcting what was understood or offered ('non, pas mardi, mercredi', 'je voulais dire 15 h')."""
    plain = text.replace("’", "'").replace("'", " ").strip()
    plain = re.sub(r"\bje me suis tromp\w*", "je me suis trompe", plain, flags=re.IGNORECASE)
    for pattern in _CORRECTION_PATTERNS:
        match = pattern.search(plain)
        if match:
            groups = match.groupdict()
            return Correction(rejected=_clean(groups.get("rej")), replacement=_clean(groups.get("rep")))
    return None


def _clean(span: str | None) -> str | None:
    if span is None:
        return None
    return span.strip(" ,;.!?") or None


_REPEAT_ANYWHERE = _rx(
    r"repet\w*", "redire", "redites", r"(?:pas|rien) (?:bien )?(?:compris|entendu|saisi)", "j ai pas compris",
    "je n ai pas compris", r"vous (?:avez|pouvez) dit quoi", "qu avez vous dit", "vous avez dit", "plus fort",
    "moins vite", "plus lentement", r"vous avez dit (?:quel|quelle|quoi|combien|a quelle)", "repeat",
    "say (?:that|it) again", "come again", r"didn ?t (?:catch|get|hear)",
    "pardon me", "what did you say", "speak up", "slower", "i beg your pardon", "excuse me",
)
_REPEAT_SHORT = _rx(
    "pardon", "comment", "quoi", "hein", "plait il", "sorry", "what", "huh", "excusez moi", "pardonnez moi"
)


def is_repeat_request(text: str) -> bool:
    """'pardon ?', 'vous pouvez répéter', 'comment ?', 'sorry, what?' (short words only count alone)."""
    key = normalise(text)
    if _REPEAT_ANYWHERE.search(key) and not re.search(r"\bvous avez dit (?:que|qu)\b", key):
        return True
    return len(key.split()) <= 3 and bool(_REPEAT_SHORT.search(key))


_GOODBYE = _rx(
    "au revoir", "aurevoir", "a bientot", "bonne journee", "bonne soiree", "bonne fin de journee", "bon week end",
    "merci c est tout", "c est tout", "ce sera tout", "ca sera tout", "rien d autre", "c est bon merci",
    "ca ira merci", "je raccroche", "salut", "adieu", "goodbye", "good bye", "bye", "bye bye", "that s all",
    "that s it", "nothing else", "have a (?:nice|good) day", "see you", "je vous laisse", "a plus",
)


def is_goodbye(text: str) -> bool:
    """'au revoir', 'merci c'est tout', 'bonne journée', 'that's all, bye'."""
    return bool(_GOODBYE.search(normalise(text)))
