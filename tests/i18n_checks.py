"""Find French left on a page rendered in English: the visible text and the labels a screen reader reads."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Words that are French and not English (short, frequent: any untranslated sentence holds one of them).
_FRENCH_WORDS = (
    "le la les des du une est sont pour avec sans dans sur aux au et ou ne pas plus aucun aucune votre "
    "vos nous vous cette ces ce qui que quand appel appels rendez-vous cabinet cabinets praticien "
    "praticiens secrétaire secrétaires patiente enregistrer annuler supprimer ajouter modifier "
    "retour jour jours heure heures semaine période niveau niveaux raison rappel rappels urgence "
    "courant oui non afficher voir tous toutes utilisateur utilisateurs rôle rôles mot passe "
    "connexion déconnecter lundi mardi mercredi jeudi vendredi samedi dimanche"
)
FRENCH_WORDS = frozenset(_FRENCH_WORDS.split())
_ACCENTED = re.compile(r"[àâçéèêëîïôûùüÿœ]", re.IGNORECASE)
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
_READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "code", "pre"}:
            self._hidden += 1
        self.chunks += [value for name, value in attrs if name in _READ_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "code", "pre"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.chunks.append(data.strip())


def french_leftovers(html: str, *, allowed: tuple[str, ...] = ()) -> list[str]:
    """Visible texts of an English page that still look French (a French word or an accented letter).

    `allowed`: data that is rightly French on any page (a practice's name, a patient's name, an address), and
    the language switch's own "Français"."""
    parser = _VisibleText()
    parser.feed(html)
    found = []
    for chunk in parser.chunks:
        text = chunk
        for data in (*allowed, "Français"):
            text = text.replace(data, " ")
        words = {w.lower() for w in _WORD.findall(text)}
        if words & FRENCH_WORDS or _ACCENTED.search(text):
            found.append(chunk)
    return found
