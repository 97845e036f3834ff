"""The practitioner directory: resolve a spoken name or a lay profession to ranked practitioners."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from practice.textnorm import normalise, phonetic_key, tokens

NAME_THRESHOLD = 72.0
AMBIGUITY_MARGIN = 5.0
_PHONETIC_FLOOR = 86.0
_FIRST_NAME_BONUS = 10.0
_PROFESSION_BONUS = 5.0
_PROFESSION_PENALTY = 15.0

# (lay phrase, canonical key); a phrase is matched on word boundaries of the normalised text.
_PROFESSION_PHRASES: tuple[tuple[str, str], ...] = (
    ("medecin generaliste", "generaliste"),
    ("generaliste", "generaliste"),
    ("medecine generale", "generaliste"),
    ("medecin traitant", "generaliste"),
    ("medecin de famille", "generaliste"),
    ("gp", "generaliste"),
    ("general practitioner", "generaliste"),
    ("family doctor", "generaliste"),
    ("family physician", "generaliste"),
    ("pediatre", "pediatre"),
    ("pediatrie", "pediatre"),
    ("medecin pour enfant", "pediatre"),
    ("medecin des enfants", "pediatre"),
    ("pediatrician", "pediatre"),
    ("paediatrician", "pediatre"),
    ("kine", "kinesitherapeute"),
    ("kinesitherapeute", "kinesitherapeute"),
    ("kinesitherapie", "kinesitherapeute"),
    ("kinesi", "kinesitherapeute"),
    ("physio", "kinesitherapeute"),
    ("physiotherapist", "kinesitherapeute"),
    ("physiotherapy", "kinesitherapeute"),
    ("physical therapist", "kinesitherapeute"),
    ("sage femme", "sage-femme"),
    ("sages femmes", "sage-femme"),
    ("maieuticien", "sage-femme"),
    ("midwife", "sage-femme"),
    ("infirmier", "infirmier"),
    ("infirmiere", "infirmier"),
    ("soins infirmiers", "infirmier"),
    ("ide", "infirmier"),
    ("nurse", "infirmier"),
    ("dentiste", "dentiste"),
    ("chirurgien dentiste", "dentiste"),
    ("dentist", "dentiste"),
    ("psychologue", "psychologue"),
    ("psychologist", "psychologue"),
    ("psychiatre", "psychiatre"),
    ("psychiatrist", "psychiatre"),
    ("orthophoniste", "orthophoniste"),
    ("speech therapist", "orthophoniste"),
    ("podologue", "podologue"),
    ("pedicure", "podologue"),
    ("podiatrist", "podologue"),
    ("dieteticien", "dieteticien"),
    ("dieteticienne", "dieteticien"),
    ("nutritionniste", "dieteticien"),
    ("dietitian", "dieteticien"),
    ("gynecologue", "gynecologue"),
    ("gyneco", "gynecologue"),
    ("gynecologie", "gynecologue"),
    ("gynecologist", "gynecologue"),
    ("dermatologue", "dermatologue"),
    ("dermato", "dermatologue"),
    ("dermatologist", "dermatologue"),
    ("cardiologue", "cardiologue"),
    ("cardio", "cardiologue"),
    ("cardiologist", "cardiologue"),
    ("osteopathe", "osteopathe"),
    ("osteo", "osteopathe"),
    ("osteopath", "osteopathe"),
    ("ophtalmologue", "ophtalmologue"),
    ("ophtalmo", "ophtalmologue"),
    ("ophthalmologist", "ophtalmologue"),
    ("orthoptiste", "orthoptiste"),
)
# "un médecin" alone means the GP in a maison de santé, unless a more specific word is there too.
_WEAK_PHRASES: tuple[tuple[str, str], ...] = (("medecin", "generaliste"), ("doctor", "generaliste"))
_PROFESSION_WORDS = frozenset(w for phrase, _ in _PROFESSION_PHRASES for w in phrase.split()) | {
    "medecin",
    "medecins",
}

_STOP_TEXT = """docteur docteure doctor doc dr dre pr prof professeur madame mme monsieur mr mrs ms miss mademoiselle
    mlle le la les l un une de du des d avec chez voir rendez vous rdv je j voudrais veux aimerais souhaite
    pour prendre appointment with see the a an to me moi mon ma son sa chez cabinet please svp s il plait
    demain aujourd hui matin apres midi soir semaine prochaine prochain lundi mardi mercredi jeudi vendredi
    samedi dimanche heure heures h avant vers possible bonjour allo oui non merci est ce que qui quand
    morning afternoon evening tomorrow today next week"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class PractitionerRecord:
    """What the directory needs of a practitioner (built from the `Practitioner` table)."""

    id: int
    title: str
    first_name: str
    last_name: str
    profession: str
    specialty: str = ""
    active: bool = True

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.title, self.first_name, self.last_name) if part)


@dataclass(frozen=True, slots=True)
class PractitionerMatch:
    record: PractitionerRecord
    score: float
    reason: Literal["name", "phonetic", "profession"]


@dataclass(frozen=True, slots=True)
class Resolution:
    """Ranked matches for a text; `ambiguous` when the best two names are too close to choose."""

    kind: Literal["name", "profession", "none"]
    matches: tuple[PractitionerMatch, ...]
    professions: tuple[str, ...]
    ambiguous: bool = False

    @property
    def best(self) -> PractitionerMatch | None:
        """The one match to act on, or None when there is none or the name is ambiguous."""
        if self.ambiguous or not self.matches:
            return None
        return self.matches[0]

    @property
    def practitioner_ids(self) -> list[int]:
        return [m.record.id for m in self.matches]


def _padded(text: str) -> str:
    return f" {normalise(text)} "


def detect_professions(text: str) -> tuple[str, ...]:
    """Canonical profession keys named in `text`, in order of first appearance, without duplicates."""
    padded = _padded(text)
    found = _phrase_hits(padded, _PROFESSION_PHRASES) or _fuzzy_profession_hits(padded)
    if not found:
        found = _phrase_hits(padded, _WEAK_PHRASES)
    ordered = sorted(found, key=lambda item: item[0])
    return tuple(dict.fromkeys(key for _, key in ordered))


def _phrase_hits(padded: str, phrases: Iterable[tuple[str, str]]) -> list[tuple[int, str]]:
    hits = []
    for phrase, key in phrases:
        for variant in (phrase, phrase + "s"):
            index = padded.find(f" {variant} ")
            if index >= 0:
                hits.append((index, key))
                break
    return hits


def _fuzzy_profession_hits(padded: str) -> list[tuple[int, str]]:
    """ASR-mangled long profession words ('kinésithérapeuthe', 'pédiatres')."""
    hits = []
    for position, word in enumerate(padded.split()):
        if len(word) < 7 or word in _STOP_WORDS:
            continue
        for phrase, key in _PROFESSION_PHRASES:
            if len(phrase) >= 7 and " " not in phrase and fuzz.ratio(word, phrase) >= 85:
                hits.append((position, key))
                break
    return hits


def record_professions(record: PractitionerRecord) -> frozenset[str]:
    """The canonical keys of a practitioner's stored profession and specialty."""
    return frozenset(detect_professions(f"{record.profession} {record.specialty}"))


def find_by_profession(text: str, records: Sequence[PractitionerRecord]) -> list[PractitionerMatch]:
    """Active practitioners whose profession or specialty the text names, in directory order."""
    wanted = set(detect_professions(text))
    if not wanted:
        return []
    return [
        PractitionerMatch(record, 100.0, "profession")
        for record in records
        if record.active and wanted & record_professions(record)
    ]


def _windows(words: list[str], size: int) -> Iterable[str]:
    for start in range(len(words) - size + 1):
        yield " ".join(words[start : start + size])


def _last_name_score(words: list[str], last_name: str) -> tuple[float, Literal["name", "phonetic"]]:
    target = normalise(last_name)
    target_key = phonetic_key(target)
    best, reason = 0.0, "name"
    size = max(1, len(target.split()))
    for window in (w for n in range(max(1, size - 1), size + 2) for w in _windows(words, n)):
        if " " not in window and window in _STOP_WORDS and window != target:
            continue
        ratio = max(fuzz.ratio(window, target), fuzz.ratio(window.replace(" ", ""), target.replace(" ", "")))
        if ratio < 60:
            continue
        if len(target_key) >= 2 and phonetic_key(window) == target_key and ratio < _PHONETIC_FLOOR:
            ratio, label = _PHONETIC_FLOOR, "phonetic"
        else:
            label = "name"
        if ratio > best:
            best, reason = ratio, label
    return best, reason  # type: ignore[return-value]


def _first_name_hit(words: list[str], first_name: str) -> bool:
    target = normalise(first_name)
    return bool(target) and any(len(w) >= 3 and fuzz.ratio(w, target) >= 85 for w in words)


def _name_match(words: list[str], record: PractitionerRecord, professions: frozenset[str]) -> PractitionerMatch | None:
    ratio, reason = _last_name_score(words, record.last_name)
    if ratio <= 0:
        return None
    score = ratio * 0.9 + (_FIRST_NAME_BONUS if _first_name_hit(words, record.first_name) else 0.0)
    if professions:
        has = bool(professions & record_professions(record))
        score += _PROFESSION_BONUS if has else -_PROFESSION_PENALTY
    if score < NAME_THRESHOLD:
        return None
    return PractitionerMatch(record, round(score, 1), reason)


def match_names(text: str, records: Sequence[PractitionerRecord]) -> list[PractitionerMatch]:
    """Active practitioners whose name the text says, best first (ties in directory order)."""
    words = tokens(text)
    professions = frozenset(detect_professions(text))
    matches = [m for r in records if r.active and (m := _name_match(words, r, professions))]
    return sorted(matches, key=lambda m: -m.score)


def is_ambiguous(matches: Sequence[PractitionerMatch]) -> bool:
    return len(matches) > 1 and matches[0].score - matches[1].score < AMBIGUITY_MARGIN


def resolve(text: str, records: Sequence[PractitionerRecord]) -> Resolution:
    """Who the caller means: a name (fuzzy and phonetic), else a profession, else nobody."""
    professions = detect_professions(text)
    names = match_names(text, records)
    if names:
        return Resolution("name", tuple(names), professions, is_ambiguous(names))
    by_profession = find_by_profession(text, records)
    if by_profession:
        return Resolution("profession", tuple(by_profession), professions)
    return Resolution("none", (), professions)
