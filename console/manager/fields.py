"""The thresholds form's fields from the model (help, bounds, choices) with short labels, in the reader's language."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo as PydanticField

from console.i18n import N_, tr
from escalation.thresholds import Thresholds

LABELS_FR: dict[str, str] = {
    "fuzzy_match_min_score": N_("Tolérance aux erreurs de transcription"),
    "high_fever_celsius": N_("Seuil de fièvre élevée (°C)"),
    "lasting_fever_days": N_("Fièvre persistante (jours)"),
    "urgent_action": N_("Appel urgent : que faire ?"),
    "clinical_question_action": N_("Question médicale : que faire ?"),
    "human_request_immediate": N_("Demande d'un humain : transfert immédiat"),
    "max_misunderstandings": N_("Incompréhensions avant transfert"),
    "low_confidence_score": N_("Confiance minimale de la reconnaissance vocale"),
    "low_confidence_turns": N_("Tours mal compris avant transfert"),
    "distress_sensitivity": N_("Sensibilité à la détresse"),
    "max_silence_seconds": N_("Silence avant relance (s)"),
    "max_silences": N_("Relances sans réponse"),
    "max_call_seconds": N_("Durée d'appel maximale (s)"),
    "handoff_wait_seconds": N_("Attente d'une secrétaire (s)"),
    "llm_second_opinion": N_("Second avis du modèle de langage"),
    "sla_seconds.emergency": N_("Délai de prise en charge — urgence vitale (s)"),
    "sla_seconds.urgent": N_("Délai de prise en charge — urgent (s)"),
    "sla_seconds.routine": N_("Délai de prise en charge — courant (s)"),
}
CHOICES_FR: dict[str, str] = {"handoff": N_("Transfert immédiat à une secrétaire"), "callback": N_("Demande de rappel"),
                              "low": N_("Faible"), "medium": N_("Moyenne"), "high": N_("Élevée")}
GROUPS_FR = {"sla_seconds": N_("Délais de prise en charge (la priorité monte et une alerte part au-delà)")}


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


def threshold_fields(language: str = "fr") -> list[FieldInfo]:
    """Every field of `Thresholds` (nested models flattened to dotted names), in the model's order and the
    reader's language (labels, help, choices and groups)."""
    return [_translated(f, language) for f in _fields(Thresholds, "")]


def _translated(field: FieldInfo, language: str) -> FieldInfo:
    choices = [{**c, "label": tr(language, c["label"])} for c in field.choices]
    return field.model_copy(update={"label": tr(language, field.label), "description": tr(language, field.description),
                                    "group": tr(language, field.group) if field.group else "", "choices": choices})


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
