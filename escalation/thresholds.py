"""The manager-tunable escalation thresholds: one validated model, with plain-French explanations.

The protocol's emergency red flags are not tunable (a manager can make the agent more cautious, never
blind it to an emergency); these knobs decide how soon the agent hands routine doubt to a human.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

HandoffAction = Literal["handoff", "callback"]


class SlaSeconds(BaseModel):
    """How long a ticket may wait, per level, before its priority is raised and an alert goes out."""

    model_config = ConfigDict(extra="forbid")

    emergency: int = Field(default=30, ge=5, le=600, description="Urgence vitale : attente maximale (s).")
    urgent: int = Field(default=120, ge=10, le=3600, description="Urgent : attente maximale (s).")
    routine: int = Field(default=600, ge=30, le=86400, description="Courant : attente maximale (s).")

    @model_validator(mode="after")
    def _ordered(self) -> SlaSeconds:
        if not self.emergency <= self.urgent <= self.routine:
            raise ValueError("les délais doivent croître : urgence vitale ≤ urgent ≤ courant")
        return self


class Thresholds(BaseModel):
    """Every manager-tunable setting of the escalation triggers of one practice."""

    model_config = ConfigDict(extra="forbid")

    fuzzy_match_min_score: int = Field(
        default=84,
        ge=70,
        le=100,
        description="Tolérance aux erreurs de transcription : score minimal (70 = très tolérant, "
        "100 = mot exact) pour reconnaître un symptôme mal transcrit.",
    )
    high_fever_celsius: float = Field(
        default=39.0,
        ge=38.0,
        le=40.5,
        description="Fièvre élevée chez l'adulte ou l'enfant de plus de 3 mois (°C) : au-delà, l'appel "
        "est traité comme urgent.",
    )
    lasting_fever_days: int = Field(
        default=3,
        ge=1,
        le=7,
        description="Fièvre qui dure depuis ce nombre de jours ou plus : urgent.",
    )
    urgent_action: HandoffAction = Field(
        default="handoff",
        description="Appel urgent pendant les heures d'ouverture : transfert immédiat à une secrétaire "
        "(handoff) ou demande de rappel prioritaire (callback).",
    )
    clinical_question_action: HandoffAction = Field(
        default="callback",
        description="Question médicale (traitement, résultats, « est-ce grave ? ») : transfert "
        "immédiat (handoff) ou message de rappel pour le praticien (callback).",
    )
    human_request_immediate: bool = Field(
        default=True,
        description="Le patient demande à parler à quelqu'un : transfert dès la première demande (oui) "
        "ou après une seconde demande (non).",
    )
    max_misunderstandings: int = Field(
        default=2,
        ge=1,
        le=5,
        description="Nombre d'incompréhensions successives avant de passer la main à une secrétaire.",
    )
    low_confidence_score: float = Field(
        default=0.45,
        ge=0.0,
        le=1.0,
        description="Confiance de la reconnaissance vocale en dessous de laquelle un tour est jugé "
        "mal compris (0 à 1).",
    )
    low_confidence_turns: int = Field(
        default=2,
        ge=1,
        le=5,
        description="Nombre de tours mal compris (confiance basse) avant le transfert.",
    )
    distress_sensitivity: Literal["low", "medium", "high"] = Field(
        default="medium",
        description="Sensibilité à la détresse ou à la colère : « high » transfère au premier signe.",
    )
    max_silence_seconds: int = Field(
        default=8,
        ge=3,
        le=30,
        description="Silence du patient (s) après lequel l'agent relance.",
    )
    max_silences: int = Field(
        default=2,
        ge=1,
        le=5,
        description="Nombre de relances sans réponse avant de transférer ou de raccrocher poliment.",
    )
    max_call_seconds: int = Field(
        default=420,
        ge=60,
        le=1800,
        description="Durée d'appel (s) au-delà de laquelle une secrétaire reprend l'appel.",
    )
    handoff_wait_seconds: int = Field(
        default=60,
        ge=10,
        le=600,
        description="Attente (s) d'une secrétaire avant que l'agent propose un rappel ou un message.",
    )
    llm_second_opinion: bool = Field(
        default=False,
        description="Demander un second avis au modèle de langage (il ne peut qu'augmenter l'urgence).",
    )
    sla_seconds: SlaSeconds = Field(default_factory=SlaSeconds)


class InvalidThresholds(ValueError):
    """A threshold configuration was refused; `errors` lists each bad field with a French message."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


_FRENCH_MESSAGES: dict[str, str] = {
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "greater_than": "doit être strictement supérieur à {gt}",
    "less_than": "doit être strictement inférieur à {lt}",
    "extra_forbidden": "réglage inconnu (vérifiez l'orthographe du nom)",
    "literal_error": "valeur non autorisée ; valeurs possibles : {expected}",
    "int_parsing": "doit être un nombre entier",
    "int_type": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier (sans décimales)",
    "float_parsing": "doit être un nombre",
    "float_type": "doit être un nombre",
    "bool_parsing": "doit valoir oui ou non (true / false)",
    "bool_type": "doit valoir oui ou non (true / false)",
    "model_type": "doit être un groupe de réglages (clé : valeur)",
    "model_attributes_type": "doit être un groupe de réglages (clé : valeur)",
    "dict_type": "doit être un groupe de réglages (clé : valeur)",
    "missing": "réglage obligatoire manquant",
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
