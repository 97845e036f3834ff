"""The triage protocol engine: red flags and intents of caller utterances, from prompts/triage/*.yaml."""

from escalation.triage.engine import TriageEngine, default_protocol
from escalation.triage.models import (
    Action,
    CallContext,
    Intent,
    Level,
    RuleHit,
    TriageDecision,
    level_rank,
    max_level,
)
from escalation.triage.protocol import Protocol, ProtocolError, load_protocol

__all__ = [
    "Action",
    "CallContext",
    "Intent",
    "Level",
    "Protocol",
    "ProtocolError",
    "RuleHit",
    "TriageDecision",
    "TriageEngine",
    "default_protocol",
    "level_rank",
    "load_protocol",
    "max_level",
]
