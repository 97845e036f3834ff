"""The manager-tunable escalation thresholds: one validated model, with plain-French explanations.

The protocol's emergency red flags are not tunable (a manager can make the agent more cautious, never
blind it to an emergency); these knobs decide how soon the agent hands routine doubt to a human.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from practice.i18n_marks import N_

HandoffAction = Literal["handoff", "callback"]


class SlaSeconds(BaseModel):
    """How long a ticket may wait, per level, before its priority is raised and an alert goes out."""

    model_config = ConfigDict(extra="forbid")

    emergency: int = Field(default=30, ge=5, le=600, description=N_("Urgence vitale : attente maximale (s)."))
    urgent: int = Field(default=120, ge=10, le=3600, description=N_("Urgent : attente maximale (s)."))
    routine: int = Field(default=600, ge=30, le=86400, description=N_("Courant : attente maximale (s)."))

    @model_validator(mode="after")
    def _ordered(self) -> SlaSeconds:
        if not self.emergency <= self.urgent <= self.routine:
            raise ValueError(N_("les délais doivent croître : urgence vitale ≤ urgent ≤ courant"))
        return self


class Thresholds(BaseModel):
    """Every manager-tunable setting of the escalation triggers of one practice."""

    model_config = ConfigDict(extra="forbid")

    fuzzy_match_min_score: int = Field(
        default=84,
        ge=70,
        le=100,
        description=N_(
            "Tolérance aux erreurs de transcription : score minimal (70 = très tolérant, "
            "100 = mot exact) pour reconnaître un symptôme mal transcrit."),
    )
    high_fever_celsius: float = Field(
        default=39.0,
        ge=38.0,
        le=40.5,
        description=N_(
            "Fièvre élevée chez l'adulte ou l'enfant de plus de 3 mois (°C) : au-delà, l'appel "
            "est traité comme urgent."),
    )
    lasting_fever_days: int = Field(
        default=3,
        ge=1,
        le=7,
        description=N_("Fièvre qui dure depuis ce nombre de jours ou plus : urgent."),
    )
    urgent_action: HandoffAction = Field(
        default="handoff",
        description=N_(
            "Appel urgent pendant les heures d'ouverture : transfert immédiat à une secrétaire "
            "(handoff) ou demande de rappel prioritaire (callback)."),
    )
    clinical_question_action: HandoffAction = Field(
        default="callback",
        description=N_(
            "Question médicale (traitement, résultats, « est-ce grave ? ») : transfert "
            "immédiat (handoff) ou message de rappel pour le praticien (callback)."),
    )
    human_request_immediate: bool = Field(
        default=True,
        description=N_(
            "Le patient demande à parler à quelqu'un : transfert dès la première demande (oui) "
            "ou après une seconde demande (non)."),
    )
    max_misunderstandings: int = Field(
        default=2,
        ge=1,
        le=5,
        description=N_("Nombre d'incompréhensions successives avant de passer la main à une secrétaire."),
    )
    low_confidence_score: float = Field(
        default=0.45,
        ge=0.0,
        le=1.0,
        description=N_(
            "Confiance de la reconnaissance vocale en dessous de laquelle un tour est jugé "
            "mal compris (0 à 1)."),
    )
    low_confidence_turns: int = Field(
        default=2,
        ge=1,
        le=5,
        description=N_("Nombre de tours mal compris (confiance basse) avant le transfert."),
    )
    distress_sensitivity: Literal["low", "medium", "high"] = Field(
        default="medium",
        description=N_("Sensibilité à la détresse ou à la colère : « high » transfère au premier signe."),
    )
    max_silence_seconds: int = Field(
        default=8,
        ge=3,
        le=30,
        description=N_("Silence du patient (s) après lequel l'agent relance."),
    )
    max_silences: int = Field(
        default=2,
        ge=1,
        le=5,
        description=N_("Nombre de relances sans réponse avant de transférer ou de raccrocher poliment."),
    )
    max_call_seconds: int = Field(
        default=420,
        ge=60,
        le=1800,
        description=N_("Durée d'appel (s) au-delà de laquelle une secrétaire reprend l'appel."),
    )
    handoff_wait_seconds: int = Field(
        default=60,
        ge=10,
        le=600,
        description=N_("Attente (s) d'une secrétaire avant que l'agent propose un rappel ou un message."),
    )
    llm_second_opinion: bool = Field(
        default=False,
        description=N_("Demander un second avis au modèle de langage (il ne peut qu'augmenter l'urgence)."),
    )
    sla_seconds: SlaSeconds = Field(default_factory=SlaSeconds)


class InvalidThresholds(ValueError):
    """A threshold configuration was refused; `errors` lists each bad field with a French message."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


_FRENCH_MESSAGES: dict[str, str] = {
    "greater_than_equal": N_("doit être supérieur ou égal à {ge}"),
    "less_than_equal": N_("doit être inférieur ou égal à {le}"),
    "greater_than": N_("doit être strictement supérieur à {gt}"),
    "less_than": N_("doit être strictement inférieur à {lt}"),
    "extra_forbidden": N_("réglage inconnu (vérifiez l'orthographe du nom)"),
    "literal_error": N_("valeur non autorisée ; valeurs possibles : {expected}"),
    "int_parsing": N_("doit être un nombre entier"),
    "int_type": N_("doit être un nombre entier"),
    "int_from_float": N_("doit être un nombre entier (sans décimales)"),
    "float_parsing": N_("doit être un nombre"),
    "float_type": N_("doit être un nombre"),
    "bool_parsing": N_("doit valoir oui ou non (true / false)"),
    "bool_type": N_("doit valoir oui ou non (true / false)"),
    "model_type": N_("doit être un groupe de réglages (clé : valeur)"),
    "model_attributes_type": N_("doit être un groupe de réglages (clé : valeur)"),
    "dict_type": N_("doit être un groupe de réglages (clé : valeur)"),
    "missing": N_("réglage obligatoire manquant"),
}


def _french_message(err: Any) -> str:
    """A plain-French message for one pydantic error (its English text when the type is unknown)."""
    ctx = err.get("ctx") or {}
    if err["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])
    template = _FRENCH_MESSAGES.get(err["type"])
    if template is None:
        return str(err["msg"])
    try:
        return template.format(**ctx).replace("' or '", "', '")
    except (KeyError, IndexError):
        return template


def parse_thresholds(values: dict[str, Any]) -> Thresholds:
    """Validate a (possibly partial) configuration; defaults fill what is missing."""
    try:
        return Thresholds.model_validate(values)
    except ValidationError as exc:
        raise InvalidThresholds(
            [{"field": ".".join(str(p) for p in err["loc"]) or "(racine)", "message": _french_message(err)}
             for err in exc.errors()]
        ) from exc


DEFAULT_THRESHOLDS = Thresholds()
