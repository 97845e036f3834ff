"""The thresholds form's fields, read from the model (French help, bounds, choices) with short French labels."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo as PydanticField

from escalation.thresholds import Thresholds

LABELS_FR: dict[str, str] = {
    "fuzzy_match_min_score": "Tolérance aux erreurs de transcription",
    "high_fever_celsius": "Seuil de fièvre élevée (°C)",
    "lasting_fever_days": "Fièvre persistante (jours)",
    "urgent_action": "Appel urgent : que faire ?",
    "clinical_question_action": "Question médicale : que faire ?",
    "human_request_immediate": "Demande d'un humain : transfert immédiat",
    "max_misunderstandings": "Incompréhensions avant transfert",
    "low_confidence_score": "Confiance minimale de la reconnaissance vocale",
    "low_confidence_turns": "Tours mal compris avant transfert",
    "distress_sensitivity": "Sensibilité à la détresse",
    "max_silence_seconds": "Silence avant relance (s)",
    "max_silences": "Relances sans réponse",
    "max_call_seconds": "Durée d'appel maximale (s)",
    "handoff_wait_seconds": "Attente d'une secrétaire (s)",
    "llm_second_opinion": "Second avis du modèle de langage",
    "sla_seconds.emergency": "Délai de prise en charge — urgence vitale (s)",
    "sla_seconds.urgent": "Délai de prise en charge — urgent (s)",
    "sla_seconds.routine": "Délai de prise en charge — courant (s)",
}
CHOICES_FR: dict[str, str] = {"handoff": "Transfert immédiat à une secrétaire", "callback": "Demande de rappel",
                              "low": "Faible", "medium": "Moyenne", "high": "Élevée"}
GROUPS_FR = {"sla_seconds": "Délais de prise en charge (la priorité monte et une alerte part au-delà)"}


class FieldInfo(BaseModel):
    """One tunable setting as the form shows it."""

    name: str
    label: str
    description: str
    kind: Literal["int", "float", "bool", "choice"]
    minimum: float | None = None
    maximum: float | None = None
    choices: list[dict[str, str]] = []
    default: Any = None
    group: str = ""


def threshold_fields() -> list[FieldInfo]:
    """Every field of `Thresholds` (nested models flattened to dotted names), in the model's order."""
    return list(_fields(Thresholds, ""))


def _fields(model: type[BaseModel], prefix: str) -> list[FieldInfo]:
    found: list[FieldInfo] = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found += [f.model_copy(update={"group": GROUPS_FR.get(name, name)}) for f in _fields(kind, f"{name}.")]
            continue
        found.append(_field(prefix + name, info))
    return found


def _field(name: str, info: PydanticField) -> FieldInfo:
    kind = info.annotation
    bounds = {type(m).__name__: m for m in info.metadata}
    minimum = getattr(bounds.get("Ge"), "ge", None)
    maximum = getattr(bounds.get("Le"), "le", None)
    field = FieldInfo(name=name, label=LABELS_FR.get(name, name), description=info.description or "",
                      kind="int", minimum=minimum, maximum=maximum, default=info.get_default(call_default_factory=True))
    if kind is bool:
        field.kind = "bool"
    elif kind is float:
        field.kind = "float"
    elif get_origin(kind) is Literal:
        field.kind = "choice"
        field.choices = [{"value": str(v), "label": CHOICES_FR.get(str(v), str(v))} for v in get_args(kind)]
    return field
