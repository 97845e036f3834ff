"""Validated input and output models of the administration API (French error messages, translated when shown)."""

from __future__ import annotations

from datetime import date, datetime, time
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, NaiveDatetime, StringConstraints, model_validator

from console.admin.errors import Refusal
from console.i18n import N_, LazyText, tr
from practice.retention import KIND_LABELS_FR, RetentionDays

Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
PhoneText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20, pattern=r"^[0-9+ .()-]*$")]
LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9_-]{1,40}$")]
RoleName = Literal["secretary", "manager", "admin"]
ROLES_FR = {"secretary": N_("Secrétaire"), "manager": N_("Responsable"), "admin": N_("Administrateur")}
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]
MAX_ID = 2_147_483_647  # a database INTEGER: larger ids cannot exist (and SQLite/PostgreSQL would raise)
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Refusal(N_("fuseau horaire inconnu : {value} (attendu : un nom IANA comme Europe/Paris)"),
                      value=repr(value)) from exc
    return value


def _known_country(value: str) -> str:
    if value not in holidays.list_supported_countries():
        raise Refusal(N_("pays inconnu pour les jours fériés : {value} (code ISO à deux lettres, ex. FR)"),
                      value=repr(value))
    return value


def check_subdivision(country: str, subdivision: str | None) -> None:
    """A subdivision must exist in the country's holiday calendar (e.g. 57 = Moselle, 974 = La Réunion)."""
    known = holidays.list_supported_countries().get(country, [])
    if subdivision and subdivision not in known:
        choices: str = ", ".join(known) or LazyText(N_("aucune"))
        raise Refusal(N_("subdivision {subdivision} inconnue pour {country} (valeurs : {choices})"),
                      subdivision=repr(subdivision), country=country, choices=choices)


Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_timezone)]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_known_country)]


class AfterHoursPolicy(BaseModel):
    """Numbers given to callers outside opening hours, and whether the agent stays on line in an emergency."""

    model_config = ConfigDict(extra="forbid")
    emergency_number: PhoneText = Field(default="15", min_length=2, description="SAMU (15)")
    urgent_care_number: PhoneText = Field(default="116 117", description="Permanence des soins (116 117)")
    sos_medecins: PhoneText = Field(default="", description="SOS Médecins (3624 ou numéro local)")
    maison_medicale_de_garde: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    emergency_stays_on_line: bool = Field(default=False, description="En cas d'urgence vitale, l'agent reste en ligne")


class PracticeFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(\d{5})?$")] = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    phone: PhoneText = ""
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                            pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")] = ""
    access_info: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    what_to_bring: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    timezone: Timezone = "Europe/Paris"
    holiday_country: Country = "FR"
    holiday_subdivision: Annotated[str, StringConstraints(max_length=10)] | None = None
    recording_enabled: bool = False
    after_hours_policy: AfterHoursPolicy = Field(default_factory=AfterHoursPolicy)


class PracticeCreateIn(PracticeFields):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")]

    @model_validator(mode="after")
    def _subdivision(self) -> PracticeCreateIn:
        check_subdivision(self.holiday_country, self.holiday_subdivision)
        return self


class PracticeUpdateIn(BaseModel):
    """Only the fields given change (PATCH)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(\d{5})?$")] | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    phone: PhoneText | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                            pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")] | None = None
    access_info: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    what_to_bring: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    timezone: Timezone | None = None
    holiday_country: Country | None = None
    holiday_subdivision: Annotated[str, StringConstraints(max_length=10)] | None = None
    recording_enabled: bool | None = None
    after_hours_policy: AfterHoursPolicy | None = None


class PracticeOut(BaseModel):
    id: int
    name: str
    slug: str
    address: str
    postcode: str
    city: str
    phone: str
    email: str
    access_info: str
    what_to_bring: str
    timezone: str
    holiday_country: str
    holiday_subdivision: str | None
    recording_enabled: bool
    after_hours_policy: dict[str, object]


class Window(BaseModel):
    """One opening window of a weekday (0 = lundi … 6 = dimanche)."""

    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6)
    opens: time
    closes: time

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.opens >= self.closes:
            raise Refusal(N_("l'heure de fermeture ({closes}) doit suivre l'ouverture ({opens})"),
                          closes=f"{self.closes:%H:%M}", opens=f"{self.opens:%H:%M}")
        return self


def no_overlap(spans: list[tuple[int, time, time]]) -> None:
    """Windows of one weekday may not overlap (a lunch break is two separate windows)."""
    ordered = sorted(spans)
    for (day_a, _, end_a), (day_b, start_b, _) in pairwise(ordered):
        if day_a == day_b and start_b < end_a:
            raise Refusal(N_("deux plages se chevauchent le jour {day} (vers {time})"), day=day_a,
                          time=f"{start_b:%H:%M}")


class OpeningHoursIn(BaseModel):
    """The whole week at once: it replaces the previous hours."""

    model_config = ConfigDict(extra="forbid")
    windows: list[Window] = Field(max_length=50)

    @model_validator(mode="after")
    def _separate(self) -> OpeningHoursIn:
        no_overlap([(w.weekday, w.opens, w.closes) for w in self.windows])
        return self


class ClosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class ClosureOut(ClosureIn):
    id: int
    practice_id: int


class PractitionerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = "Dr"
    first_name: Name
    last_name: Name
    profession: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    specialty: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""
    languages: list[LangCode] = Field(default_factory=lambda: ["fr"], min_length=1, max_length=10)
    active: bool = True


class PractitionerUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    profession: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = None
    specialty: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = None
    languages: list[LangCode] | None = Field(default=None, min_length=1, max_length=10)
    active: bool | None = None


class PractitionerOut(PractitionerIn):
    id: int
    practice_id: int


class ConsultationTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    duration_minutes: int = Field(ge=5, le=240)
    is_default: bool = False


class ConsultationTypeOut(ConsultationTypeIn):
    id: int
    practitioner_id: int


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6)
    starts: time
    ends: time
    slot_minutes: int = Field(default=20, ge=5, le=240)

    @model_validator(mode="after")
    def _ordered(self) -> RuleIn:
        if self.starts >= self.ends:
            raise Refusal(N_("la fin ({ends}) doit suivre le début ({starts})"), ends=f"{self.ends:%H:%M}",
                          starts=f"{self.starts:%H:%M}")
        return self


class AvailabilityIn(BaseModel):
    """The practitioner's whole weekly availability at once: it replaces the previous one."""

    model_config = ConfigDict(extra="forbid")
    rules: list[RuleIn] = Field(max_length=100)

    @model_validator(mode="after")
    def _separate(self) -> AvailabilityIn:
        no_overlap([(r.weekday, r.starts, r.ends) for r in self.rules])
        return self


class ExceptionIn(BaseModel):
    """An absence (congés, formation) or an extra opening, in the practice's local time."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["absence", "extra"] = "absence"
    starts_at: NaiveDatetime
    ends_at: NaiveDatetime
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> ExceptionIn:
        if self.starts_at >= self.ends_at:
            raise Refusal(N_("la fin de l'absence doit suivre son début"))
        return self


class ExceptionOut(ExceptionIn):
    id: int
    practitioner_id: int


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{3,80}$")]
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    role: RoleName = "secretary"
    password: Password
    languages: list[LangCode] = Field(default_factory=lambda: ["fr"], max_length=10)
    skills: list[Skill] = Field(default_factory=list, max_length=30)
    practice_ids: list[RowId] = Field(default_factory=list, max_length=200)
    active: bool = True


class UserUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    role: RoleName | None = None
    languages: list[LangCode] | None = Field(default=None, max_length=10)
    skills: list[Skill] | None = Field(default=None, max_length=30)
    practice_ids: list[RowId] | None = Field(default=None, max_length=200)
    active: bool | None = None


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    languages: list[str]
    skills: list[str]
    practice_ids: list[int]
    active: bool


# practice.retention's labels and messages (French), marked here for the catalogue: tests check they stay equal
RETENTION_LABELS = KIND_LABELS_FR  # marked for translation in practice.retention


class RetentionRefusal(Refusal):
    """Retention durations refused by practice.retention: its French sentences, translated one by one."""

    __slots__ = ("problems",)

    def __init__(self, problems: list[str]) -> None:
        super().__init__("{problems}", problems=" ".join(problems))
        self.problems = problems

    def translated(self, language: str) -> str:
        return " ".join(_retention_problem(language, p) for p in self.problems)


def _retention_problem(language: str, problem: str) -> str:
    """One sentence in `language` (matched against practice.retention's marked templates), its kind translated."""
    text = tr(language, problem)
    for label in RETENTION_LABELS.values():
        text = text.replace(label, tr(language, label))
    return text


class RetentionIn(BaseModel):
    """Days kept per kind of data; the call metadata must outlive everything attached to it."""

    model_config = ConfigDict(extra="forbid")
    audio_days: int = Field(ge=1, le=3650)
    transcript_days: int = Field(ge=1, le=3650)
    summary_days: int = Field(ge=1, le=3650)
    metadata_days: int = Field(ge=1, le=3650)

    @model_validator(mode="after")
    def _coherent(self) -> RetentionIn:
        problems = RetentionDays(self.audio_days, self.transcript_days, self.summary_days,
                                 self.metadata_days).problems()
        if problems:
            raise RetentionRefusal(problems)
        return self


class RetentionOut(RetentionIn):
    practice_id: int
    is_default: bool


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_user_id: int | None
    practice_id: int | None
    action: str
    entity: str
    entity_id: str
    detail: dict[str, object]


class PatientOut(BaseModel):
    id: int
    first_name: str
    last_name: str
    birth_date: date | None
    phone: str


class PatientQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: Annotated[str, StringConstraints(max_length=30)] = ""
    name: Annotated[str, StringConstraints(max_length=100)] = ""
    birth_date: date | None = None


class EraseIn(BaseModel):
    """Erasure is irreversible: type EFFACER to confirm."""

    model_config = ConfigDict(extra="forbid")
    confirm: Annotated[str, StringConstraints(max_length=20)] = Field(description="Tapez EFFACER pour confirmer")


class PurgeOut(BaseModel):
    now: datetime
    dry_run: bool
    total: dict[str, int]
    by_practice: dict[str, dict[str, int]]
