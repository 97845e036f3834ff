"""The triage protocol as data: Pydantic schema of prompts/triage/*.yaml, loading and compilation."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from escalation.triage.matching import Phrase, Term, parse_phrase
from escalation.triage.models import Action, Intent, Level

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RuleKind = Literal["red_flag", "clinical_question", "symptom"]
REQUIRED_VOCAB = ("fever", "high_fever", "pregnancy", "malaria_area", "anticoagulant", "symptom")


class ProtocolError(ValueError):
    """A protocol file is broken; the message names the file and the rule."""


class Requires(BaseModel):
    """Context a rule needs besides its words (from this turn or earlier ones)."""

    model_config = ConfigDict(extra="forbid")

    age_months_below: float | None = Field(default=None, gt=0)
    age_months_at_least: float | None = Field(default=None, ge=0)
    child: bool | None = None
    pregnant: bool | None = None
    fever: bool | None = None
    high_fever: bool | None = None
    lasting_fever: bool | None = None
    travel: bool | None = None
    anticoagulants: bool | None = None


class Group(BaseModel):
    """Co-occurrence: one phrase of each component within `window` words ("mal" + "poitrine")."""

    model_config = ConfigDict(extra="forbid")

    all: list[list[str]] = Field(min_length=2)
    window: int = Field(default=8, ge=1, le=40)


class Patterns(BaseModel):
    """Phrases (any one fires) and co-occurrence groups."""

    model_config = ConfigDict(extra="forbid")

    phrases: list[str] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    max_gap: int = Field(default=2, ge=0, le=6)


class Modifier(Patterns):
    """Words that change a rule's level when present too (radiating to the arm, sweating, a known zona)."""

    level: Level
    action: Action | None = None
    label: str | None = None
    requires: Requires | None = None


class Rule(Patterns):
    """One protocol rule."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: RuleKind = "red_flag"
    level: Level
    action: Action
    label: str = Field(min_length=3)
    label_en: str | None = None
    requires: Requires | None = None
    escalate: list[Modifier] = Field(default_factory=list)
    downgrade: list[Modifier] = Field(default_factory=list)
    lock_action: bool = False

    @model_validator(mode="after")
    def _has_something_to_match(self) -> Rule:
        if not (self.phrases or self.groups or self.requires):
            raise ValueError("a rule needs phrases, groups or requires")
        if self.level == "emergency" and self.action != "advise_15":
            raise ValueError("an emergency rule's action must be advise_15")
        return self


class IntentSpec(BaseModel):
    """Words that reveal what the caller wants (book, cancel...), with a priority to break ties."""

    model_config = ConfigDict(extra="forbid")

    intent: Intent
    priority: int = Field(default=50, ge=0, le=100)
    phrases: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)
    max_gap: int = Field(default=2, ge=0, le=6)


class SafetyNet(BaseModel):
    """What to do when the caller describes a health complaint that no rule recognises.

    Every complaint word (outside negation and past history) must be recognised: inside a benign
    complaint the protocol knows ("nez qui coule"), inside a phrase that is no complaint ("prise de
    sang"), inside the span of a rule that fired, or in a clause with a mildness cue ("un peu", "il
    joue") and no intensity cue ("très mal", "n'arrive plus"). Otherwise the machine did not understand
    a health complaint, and a human decides: the level is raised to this one.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    level: Level
    action: Action
    label: str = Field(min_length=3)
    label_en: str | None = None
    complaint: list[str] = Field(min_length=1)
    ignore: list[str] = Field(default_factory=list)
    benign: list[str] = Field(default_factory=list)
    mild: list[str] = Field(default_factory=list)
    intense: list[str] = Field(default_factory=list)
    max_gap: int = Field(default=2, ge=0, le=6)

    @model_validator(mode="after")
    def _raises_the_level(self) -> SafetyNet:
        if self.level == "routine":
            raise ValueError("a safety net must raise the level (urgent or emergency)")
        if self.level == "emergency" and self.action != "advise_15":
            raise ValueError("an emergency safety net's action must be advise_15")
        return self


class ProtocolFile(BaseModel):
    """One YAML file of the protocol."""

    model_config = ConfigDict(extra="forbid")

    theme: str
    vocab: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    intents: list[IntentSpec] = Field(default_factory=list)
    safety_net: SafetyNet | None = None


@dataclass(frozen=True, eq=False)
class CompiledPatterns:
    """Phrases and groups as folded terms, ready to match."""

    phrases: tuple[Phrase, ...]
    groups: tuple[tuple[tuple[tuple[Phrase, ...], ...], int], ...]
    max_gap: int

    def terms(self) -> Iterator[Term]:
        for phrase in self.phrases:
            yield from phrase
        for components, _ in self.groups:
            for alternatives in components:
                for phrase in alternatives:
                    yield from phrase

    @property
    def empty(self) -> bool:
        return not self.phrases and not self.groups

    @functools.cached_property
    def phrase_heads(self) -> frozenset[str]:
        """First-term keys of the phrases: if none occurs, no phrase can match."""
        return frozenset(phrase[0].key for phrase in self.phrases)

    @functools.cached_property
    def group_heads(self) -> tuple[tuple[frozenset[str], ...], ...]:
        """Per group, per component, the first-term keys of its alternatives."""
        return tuple(
            tuple(frozenset(phrase[0].key for phrase in alts) for alts in components)
            for components, _ in self.groups
        )


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule with its compiled patterns and modifiers."""

    rule: Rule
    source: str
    patterns: CompiledPatterns
    escalate: tuple[tuple[Modifier, CompiledPatterns], ...]
    downgrade: tuple[tuple[Modifier, CompiledPatterns], ...]


@dataclass(frozen=True)
class CompiledIntent:
    """An intent's phrases, and the phrases that rule it out ("en parler au médecin" is not "a human")."""

    spec: IntentSpec
    phrases: tuple[Phrase, ...]
    unless: tuple[Phrase, ...] = ()


@dataclass(frozen=True)
class CompiledSafetyNet:
    """The safety net's word lists, compiled."""

    spec: SafetyNet
    complaint: CompiledPatterns
    ignore: CompiledPatterns
    benign: CompiledPatterns
    mild: CompiledPatterns
    intense: CompiledPatterns

    def patterns(self) -> tuple[CompiledPatterns, ...]:
        return (self.complaint, self.ignore, self.benign, self.mild, self.intense)


@dataclass(frozen=True)
class Protocol:
    """The whole protocol: rules, intents and named vocabularies, compiled."""

    rules: tuple[CompiledRule, ...]
    intents: tuple[CompiledIntent, ...]
    vocab: dict[str, CompiledPatterns]
    files: tuple[str, ...] = field(default=())
    safety_net: CompiledSafetyNet | None = None

    def terms(self) -> set[Term]:
        """Every pattern term, for the fuzzy matcher's vocabulary."""
        out: set[Term] = set()
        for compiled in self.rules:
            out.update(compiled.patterns.terms())
            for _, patterns in compiled.escalate + compiled.downgrade:
                out.update(patterns.terms())
        for intent in self.intents:
            for phrase in intent.phrases + intent.unless:
                out.update(phrase)
        for patterns in self.vocab.values():
            out.update(patterns.terms())
        if self.safety_net is not None:
            for patterns in self.safety_net.patterns():
                out.update(patterns.terms())
        return out

    def rule(self, rule_id: str) -> CompiledRule:
        return next(r for r in self.rules if r.rule.id == rule_id)


def load_protocol(paths: Sequence[Path] | None = None) -> Protocol:
    """Read, validate and compile the protocol files (default: every prompts/triage/*.yaml)."""
    if paths is None:
        from prompts import triage_files

        paths = triage_files()
    if not paths:
        raise ProtocolError("no triage protocol file found")
    _PHRASE_MEMO.clear()  # one load parses each distinct phrase once (vocab lists are shared by many rules)
    try:
        return _load(paths)
    finally:
        _PHRASE_MEMO.clear()


_PHRASE_MEMO: dict[str, Phrase] = {}


def _load(paths: Sequence[Path]) -> Protocol:
    files = [(str(path), _read_file(Path(path))) for path in paths]
    raw_vocab = _collect_vocab(files)
    vocab = {name: _compile_vocab(name, words, raw_vocab) for name, words in raw_vocab.items()}
    missing = [name for name in REQUIRED_VOCAB if name not in vocab]
    if missing:
        raise ProtocolError(f"{', '.join(str(p) for p in paths)}: missing vocab {missing}")
    rules = _compile_rules(files, raw_vocab)
    intents = tuple(
        CompiledIntent(spec, _phrases(spec.phrases, raw_vocab), _phrases(spec.unless, raw_vocab))
        for _, pf in files
        for spec in pf.intents
    )
    net = _compile_safety_net(files, raw_vocab)
    return Protocol(rules=rules, intents=intents, vocab=vocab, files=tuple(p for p, _ in files), safety_net=net)


def _compile_safety_net(
    files: list[tuple[str, ProtocolFile]], vocab: dict[str, list[str]]
) -> CompiledSafetyNet | None:
    nets = [(path, pf.safety_net) for path, pf in files if pf.safety_net is not None]
    if len(nets) > 1:
        raise ProtocolError(f"{nets[1][0]}: safety_net already defined in {nets[0][0]}")
    if not nets:
        return None
    path, net = nets[0]
    try:
        lists = [
            CompiledPatterns(_phrases(words, vocab), (), net.max_gap)
            for words in (net.complaint, net.ignore, net.benign, net.mild, net.intense)
        ]
    except KeyError as exc:
        raise ProtocolError(f"{path}: safety_net {net.id!r}: unknown vocab reference {exc}") from exc
    except ValueError as exc:
        raise ProtocolError(f"{path}: safety_net {net.id!r}: {exc}") from exc
    return CompiledSafetyNet(net, *lists)


def _read_file(path: Path) -> ProtocolFile:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ProtocolError(f"{path}: cannot read protocol file: {exc}") from exc
    try:
        return ProtocolFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ProtocolError(f"{path}: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}" for err in exc.errors()
    )


def _collect_vocab(files: list[tuple[str, ProtocolFile]]) -> dict[str, list[str]]:
    vocab: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for path, pf in files:
        for name, words in pf.vocab.items():
            if name in vocab:
                raise ProtocolError(f"{path}: vocab {name!r} already defined in {owner[name]}")
            vocab[name], owner[name] = list(words), path
    return vocab


def _compile_vocab(name: str, words: list[str], raw_vocab: dict[str, list[str]]) -> CompiledPatterns:
    try:
        return CompiledPatterns(_phrases(words, raw_vocab), (), 2)
    except KeyError as exc:
        raise ProtocolError(f"vocab {name!r}: unknown vocab reference {exc}") from exc


def _compile_rules(
    files: list[tuple[str, ProtocolFile]], vocab: dict[str, list[str]]
) -> tuple[CompiledRule, ...]:
    compiled: list[CompiledRule] = []
    seen: dict[str, str] = {}
    for path, pf in files:
        for index, raw in enumerate(pf.rules):
            rule_id = str(raw.get("id", f"#{index + 1}")) if isinstance(raw, dict) else f"#{index + 1}"
            if rule_id in seen:
                raise ProtocolError(f"{path}: rule {rule_id!r}: duplicate id (also in {seen[rule_id]})")
            seen[rule_id] = path
            compiled.append(_compile_rule(path, rule_id, raw, vocab))
    return tuple(compiled)


def _compile_rule(path: str, rule_id: str, raw: Any, vocab: dict[str, list[str]]) -> CompiledRule:
    try:
        rule = Rule.model_validate(raw)
    except ValidationError as exc:
        raise ProtocolError(f"{path}: rule {rule_id!r}: {_first_error(exc)}") from exc
    try:
        return CompiledRule(
            rule=rule,
            source=path,
            patterns=_compile_patterns(rule, vocab),
            escalate=tuple((m, _compile_patterns(m, vocab)) for m in rule.escalate),
            downgrade=tuple((m, _compile_patterns(m, vocab)) for m in rule.downgrade),
        )
    except KeyError as exc:
        raise ProtocolError(f"{path}: rule {rule_id!r}: unknown vocab reference {exc}") from exc
    except ValueError as exc:
        raise ProtocolError(f"{path}: rule {rule_id!r}: {exc}") from exc


def _compile_patterns(patterns: Patterns, vocab: dict[str, list[str]]) -> CompiledPatterns:
    groups = tuple(
        (tuple(_phrases(component, vocab) for component in group.all), group.window)
        for group in patterns.groups
    )
    return CompiledPatterns(_phrases(patterns.phrases, vocab), groups, patterns.max_gap)


def _phrases(raw: Sequence[str], vocab: dict[str, list[str]], depth: int = 0) -> tuple[Phrase, ...]:
    """Parse phrases, expanding "@name" references to named vocabularies."""
    out: list[Phrase] = []
    for item in raw:
        if item.startswith("@"):
            if depth > 4:
                raise ValueError(f"vocab reference loop at {item}")
            out.extend(_phrases(vocab[item[1:]], vocab, depth + 1))
            continue
        phrase = _PHRASE_MEMO.get(item)
        if phrase is None:
            phrase = _PHRASE_MEMO[item] = parse_phrase(item)
        if not phrase:
            raise ValueError(f"empty phrase {item!r}")
        out.append(phrase)
    return tuple(out)
