"""Rasa 3's file format for an assistant, rebuilt as Python checks from Rasa's own sources.

Source: RasaHQ/rasa (3.x, https://github.com/RasaHQ/rasa), read for this file:
- rasa/shared/utils/schemas/domain.yml and stories.yml, and
  rasa/shared/nlu/training_data/schemas/nlu.yml: the YAML schemas `rasa data validate`
  and `rasa train` check each file against (which keys, which types, which step kinds);
- rasa/shared/core/slot_mappings.py `SlotMapping.validate` and `check_mapping_validity`;
- rasa/shared/core/domain.py: forms' `required_slots` are a list of declared slots;
- rasa/shared/core/slots.py: the slot types and a float slot's range;
- rasa/validator.py `Validator`: verify_intents, verify_example_repetition_in_intents,
  verify_intents_in_stories, verify_utterances_in_dialogues, verify_forms_in_stories_rules,
  verify_actions_in_stories_rules, verify_form_slots, verify_slot_mappings.

Rasa itself (with TensorFlow) is too heavy to install next to contactdesk, so the checks are
written out here, each naming the check of Rasa's it follows. `check_assistant` returns
Rasa's errors (what makes `rasa data validate` fail or `rasa train` refuse the files) and
its warnings separately. Checks that Rasa only warns about but that mean a broken
assistant here (a declared intent without examples, an example under two intents, an
entity nobody declared) are errors: `rasa data validate --fail-on-warnings` would fail too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# rasa/shared/constants.py LATEST_TRAINING_DATA_FORMAT_VERSION for Rasa 3.1 and later.
FORMAT_VERSION = "3.1"

# rasa/shared/core/constants.py DEFAULT_INTENTS and DEFAULT_ACTION_NAMES: always known.
DEFAULT_INTENTS = frozenset({"restart", "back", "out_of_scope", "session_start", "nlu_fallback"})
DEFAULT_ACTIONS = frozenset(
    {
        "action_listen",
        "action_restart",
        "action_session_start",
        "action_default_fallback",
        "action_deactivate_loop",
        "action_revert_fallback_events",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_two_stage_fallback",
        "action_unlikely_intent",
        "action_back",
        "action_extract_slots",
    }
)
# rasa/shared/core/constants.py: slots every tracker has.
DEFAULT_SLOTS = frozenset({"requested_slot", "session_started_metadata"})

# rasa/shared/core/slots.py: the built-in slot types (anything else is a custom class path).
SLOT_TYPES = frozenset({"text", "bool", "categorical", "float", "list", "any"})
# rasa/shared/core/slot_mappings.py SlotMapping.validate: each type's required keys.
MAPPING_REQUIRED_KEYS = {
    "from_entity": ("entity",),
    "from_intent": ("value",),
    "from_trigger_intent": ("value",),
    "from_text": (),
    "custom": (),
}
# stories.yml schema: the kinds of step a story or rule has (one per step).
STORY_STEP_KINDS = frozenset(
    {"intent", "user", "action", "active_loop", "bot", "slot_was_set", "checkpoint", "or"}
)
RULE_STEP_KINDS = frozenset({"intent", "user", "action", "active_loop", "slot_was_set", "or"})
RULE_CONDITION_KINDS = frozenset({"active_loop", "slot_was_set"})
RULE_KEYS = frozenset({"rule", "steps", "condition", "conversation_start", "wait_for_user_input", "metadata"})
STORY_KEYS = frozenset({"story", "steps", "metadata"})
# nlu.yml schema: the kinds of NLU item.
NLU_KINDS = frozenset({"intent", "synonym", "regex", "lookup"})
# rasa/shared/nlu/training_data/formats/rasa_yaml.py: `[text](entity)` or `[text]{"entity": …}`.
ENTITY_ANNOTATION = re.compile(r"\[[^\]]+\]\((?P<short>[^)]+)\)|\[[^\]]+\]\{(?P<long>[^}]+)\}")


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Assistant:
    domain: dict[str, Any]
    nlu: list[dict[str, Any]]
    stories: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    versions: dict[str, Any]

    @classmethod
    def load(cls, directory: Path) -> Assistant:
        """`domain.yml` and every YAML file under `data/`, as Rasa's file importer reads them."""
        domain = yaml.safe_load((directory / "domain.yml").read_text(encoding="utf-8")) or {}
        versions = {"domain.yml": domain.get("version")}
        nlu: list[dict[str, Any]] = []
        stories: list[dict[str, Any]] = []
        rules: list[dict[str, Any]] = []
        for path in sorted((directory / "data").rglob("*.yml")):
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            versions[str(path.relative_to(directory))] = content.get("version")
            nlu += content.get("nlu") or []
            stories += content.get("stories") or []
            rules += content.get("rules") or []
        return cls(domain, nlu, stories, rules, versions)

    # -- what the domain declares (rasa/shared/core/domain.py) -------------------------

    @staticmethod
    def _names(items: Iterable[Any]) -> set[str]:
        """Names of a list whose entries are a name or {name: properties}."""
        names: set[str] = set()
        for item in items or ():
            names |= set(item) if isinstance(item, dict) else {item}
        return names

    @property
    def intents(self) -> set[str]:
        return self._names(self.domain.get("intents") or ())

    @property
    def entities(self) -> set[str]:
        return self._names(self.domain.get("entities") or ())

    @property
    def slots(self) -> dict[str, Any]:
        return self.domain.get("slots") or {}

    @property
    def forms(self) -> dict[str, Any]:
        return self.domain.get("forms") or {}

    @property
    def responses(self) -> set[str]:
        return set(self.domain.get("responses") or {})

    @property
    def actions(self) -> set[str]:
        return set(self.domain.get("actions") or ())

    @property
    def action_names_or_texts(self) -> set[str]:
        """Domain.action_names_or_texts: every action a story may name."""
        return DEFAULT_ACTIONS | self.actions | self.responses | set(self.forms)


def check_assistant(directory: Path, registered_actions: set[str]) -> Report:
    """Every check below, over the assistant in `directory`, against the custom actions the
    action server registers."""
    assistant = Assistant.load(directory)
    report = Report()
    for check in (
        _versions,
        _domain_schema,
        _slot_mappings,
        _forms,
        _nlu,
        _stories_and_rules,
    ):
        check(assistant, report)
    _custom_actions(assistant, registered_actions, report)
    return report


def _versions(assistant: Assistant, report: Report) -> None:
    for name, version in assistant.versions.items():
        if version != FORMAT_VERSION:
            report.errors.append(f"{name}: version is {version!r}, not the string {FORMAT_VERSION!r}")


def _domain_schema(assistant: Assistant, report: Report) -> None:
    """domain.yml schema: the shape of each section."""
    domain = assistant.domain
    for section in ("intents", "entities", "actions"):
        value = domain.get(section, [])
        if not isinstance(value, list):
            report.errors.append(f"domain: {section} is not a list")
            continue
        for item in value:
            if isinstance(item, dict):
                if section == "actions" or len(item) != 1:
                    report.errors.append(f"domain: {section} entry {item!r} is not one name")
            elif not isinstance(item, str) or not item:
                report.errors.append(f"domain: {section} entry {item!r} is not a name")
    for name, variations in (domain.get("responses") or {}).items():
        if not isinstance(variations, list) or not variations:
            report.errors.append(f"domain: response {name} has no variations")
            continue
        for variation in variations:
            if not isinstance(variation, dict) or not variation.keys() & {
                "text",
                "image",
                "custom",
                "buttons",
                "attachment",
                "quick_replies",
                "elements",
            }:
                report.errors.append(f"domain: response {name} has a variation with nothing to say")
    if not isinstance(domain.get("slots", {}), dict):
        report.errors.append("domain: slots is not a mapping")
    session = domain.get("session_config") or {}
    expiry = session.get("session_expiration_time", 0)
    if isinstance(expiry, bool) or not isinstance(expiry, int | float) or expiry < 0:
        report.errors.append("domain: session_expiration_time is not a number of minutes")
    if not isinstance(session.get("carry_over_slots_to_new_session", True), bool):
        report.errors.append("domain: carry_over_slots_to_new_session is not true or false")
    for response in assistant.responses:
        if not response.startswith("utter_"):
            report.errors.append(f"domain: response {response} does not start with utter_")


def _slot_mappings(assistant: Assistant, report: Report) -> None:
    """slots.py (types), SlotMapping.validate / check_mapping_validity, and
    Validator.verify_slot_mappings (conditions name declared forms that require the slot)."""
    for slot, properties in assistant.slots.items():
        if not isinstance(properties, dict):
            report.errors.append(f"slot {slot}: not a mapping")
            continue
        slot_type = properties.get("type")
        if slot_type not in SLOT_TYPES and not (isinstance(slot_type, str) and "." in slot_type):
            report.errors.append(f"slot {slot}: unknown type {slot_type!r}")
        if slot_type == "categorical" and not properties.get("values"):
            report.errors.append(f"slot {slot}: a categorical slot lists its values")
        low, high = properties.get("min_value", 0.0), properties.get("max_value", 1.0)
        if slot_type == "float" and high < low:
            report.errors.append(f"slot {slot}: max_value is below min_value")
        if not isinstance(properties.get("influence_conversation", True), bool):
            report.errors.append(f"slot {slot}: influence_conversation is not true or false")
        mappings = properties.get("mappings", [])
        if not isinstance(mappings, list):
            report.errors.append(f"slot {slot}: mappings is not a list")
            continue
        for mapping in mappings:
            _one_mapping(assistant, slot, mapping, report)


def _one_mapping(assistant: Assistant, slot: str, mapping: Any, report: Report) -> None:
    if not isinstance(mapping, dict):
        report.errors.append(f"slot {slot}: a mapping is not a mapping")
        return
    kind = mapping.get("type")
    if kind not in MAPPING_REQUIRED_KEYS:
        report.errors.append(f"slot {slot}: invalid slot mapping of type {kind!r}")
        return
    for key in MAPPING_REQUIRED_KEYS[kind]:
        if mapping.get(key) is None:
            report.errors.append(f"slot {slot}: a {kind} mapping needs {key!r}")
    if kind == "from_entity" and mapping.get("entity") not in assistant.entities:
        report.errors.append(
            f"slot {slot}: from_entity mapping for undeclared entity {mapping.get('entity')!r}"
        )
    for key in ("intent", "not_intent"):
        named = mapping.get(key) or []
        for intent in named if isinstance(named, list) else [named]:
            if intent not in assistant.intents | DEFAULT_INTENTS:
                report.errors.append(f"slot {slot}: mapping {key} names undeclared intent {intent!r}")
    conditions = mapping.get("conditions", [])
    if not isinstance(conditions, list):
        report.errors.append(f"slot {slot}: conditions is not a list")
        return
    for condition in conditions:
        form = condition.get("active_loop") if isinstance(condition, dict) else None
        if not isinstance(condition, dict) or not condition.keys() <= {"active_loop", "requested_slot"}:
            report.errors.append(f"slot {slot}: condition {condition!r} is not active_loop/requested_slot")
            continue
        if form and form not in assistant.forms:
            report.errors.append(f"slot {slot}: mapping condition for form {form!r}, not in domain forms")
        required = (assistant.forms.get(form) or {}).get("required_slots") or []
        if form in assistant.forms and slot not in required and kind != "from_trigger_intent":
            report.errors.append(
                f"slot {slot}: mapping condition for form {form!r}, not in its required_slots"
            )
        requested = condition.get("requested_slot")
        if requested is not None and requested not in assistant.slots:
            report.errors.append(f"slot {slot}: condition requests undeclared slot {requested!r}")


def _forms(assistant: Assistant, report: Report) -> None:
    """domain.py: a form is {required_slots: [slot, …]}; Validator.verify_form_slots."""
    if not isinstance(assistant.domain.get("forms", {}), dict):
        report.errors.append("domain: forms is not a mapping")
        return
    for form, definition in assistant.forms.items():
        required = (definition or {}).get("required_slots") if isinstance(definition, dict) else None
        if not isinstance(required, list):
            report.errors.append(f"form {form}: required_slots is not a list of slots")
            continue
        for slot in required:
            if slot not in assistant.slots:
                report.errors.append(
                    f"form {form}: the form slot {slot!r} is not present in the domain slots"
                )
        for intent in definition.get("ignored_intents") or []:
            if intent not in assistant.intents:
                report.errors.append(f"form {form}: ignores undeclared intent {intent!r}")
        for slot in required:
            if (
                f"utter_ask_{slot}" not in assistant.responses
                and f"action_ask_{slot}" not in assistant.actions
            ):
                report.warnings.append(f"form {form}: nothing asks for {slot!r} (utter_ask_{slot})")


def _examples(item: dict[str, Any]) -> list[str]:
    raw = item.get("examples") or ""
    return [line.strip()[2:].strip() for line in str(raw).splitlines() if line.strip().startswith("- ")]


def _nlu(assistant: Assistant, report: Report) -> None:
    """nlu.yml schema; Validator.verify_intents and verify_example_repetition_in_intents."""
    labelled: dict[str, set[str]] = {}
    for item in assistant.nlu:
        kinds = item.keys() & NLU_KINDS if isinstance(item, dict) else set()
        if len(kinds) != 1 or not isinstance(item.get("examples"), str):
            report.errors.append(f"nlu: {item!r} is not one intent, synonym, regex or lookup with examples")
            continue
        examples = _examples(item)
        if not examples:
            report.errors.append(f"nlu: {item[kinds.pop()]} has no `- ` examples")
        if "intent" not in item:
            continue
        intent = item["intent"]
        if intent not in assistant.intents:
            report.errors.append(
                f"nlu: examples labelled with intent {intent!r}, which the domain does not list"
            )
        for example in examples:
            labelled.setdefault(example, set()).add(intent)
            for match in ENTITY_ANNOTATION.finditer(example):
                entity = match["short"] or _long_entity(match["long"])
                entity = entity.split(":")[0]  # [text](entity:value) synonyms
                if entity not in assistant.entities:
                    report.errors.append(f"nlu: example {example!r} annotates undeclared entity {entity!r}")
    for intent in assistant.intents - DEFAULT_INTENTS:
        if not any(intent in intents for intents in labelled.values()):
            report.errors.append(f"nlu: intent {intent!r} is listed in the domain but has no examples")
    for example, intents in labelled.items():
        if len(intents) > 1:
            report.errors.append(f"nlu: example {example!r} is labelled with {sorted(intents)}")


def _long_entity(annotation: str) -> str:
    found = re.search(r'"entity"\s*:\s*"([^"]+)"', annotation)
    return found.group(1) if found else annotation


def _steps(block: dict[str, Any], key: str = "steps") -> Iterator[dict[str, Any]]:
    for step in block.get(key) or []:
        if isinstance(step, dict) and "or" in step:
            yield from (s for s in step["or"] if isinstance(s, dict))
        yield step


def _stories_and_rules(assistant: Assistant, report: Report) -> None:
    """stories.yml schema, then Validator.verify_intents_in_stories,
    verify_utterances_in_dialogues, verify_actions_in_stories_rules and
    verify_forms_in_stories_rules."""
    used_intents: set[str] = set()
    used_utterances: set[str] = set()
    blocks = [("story", s, STORY_KEYS, STORY_STEP_KINDS) for s in assistant.stories] + [
        ("rule", r, RULE_KEYS, RULE_STEP_KINDS) for r in assistant.rules
    ]
    for kind, block, keys, step_kinds in blocks:
        name = block.get(kind) if isinstance(block, dict) else None
        if not isinstance(name, str) or not name or not isinstance(block.get("steps"), list):
            report.errors.append(f"{kind} {block!r}: needs a name and a list of steps")
            continue
        if block.keys() - keys:
            report.errors.append(f"{kind} {name!r}: unknown keys {sorted(block.keys() - keys)}")
        checked = [(step, step_kinds) for step in _steps(block)]
        checked += [(step, RULE_CONDITION_KINDS) for step in _steps(block, "condition")]
        for step, allowed in checked:
            _one_step(assistant, f"{kind} {name!r}", step, allowed, report)
            if isinstance(step, dict) and isinstance(step.get("intent"), str):
                used_intents.add(step["intent"])
            if isinstance(step, dict) and str(step.get("action", "")).startswith("utter_"):
                used_utterances.add(step["action"])
    for intent in assistant.intents - DEFAULT_INTENTS - used_intents:
        report.warnings.append(f"intent {intent!r} is not used in any story or rule")
    asked = {
        f"utter_ask_{slot}" for form in assistant.forms.values() for slot in form.get("required_slots", [])
    }
    for utterance in assistant.responses - used_utterances - asked:
        report.warnings.append(f"utterance {utterance!r} is not used in any story or rule")


def _one_step(assistant: Assistant, where: str, step: Any, allowed: frozenset[str], report: Report) -> None:
    if not isinstance(step, dict) or not step:
        report.errors.append(f"{where}: step {step!r} is not a mapping")
        return
    kinds = step.keys() - {"entities"}
    if len(kinds) != 1 or not kinds <= allowed or ("entities" in step and "intent" not in step):
        report.errors.append(f"{where}: step {step!r} is not one of {sorted(allowed)}")
        return
    if "intent" in step:
        if step["intent"] not in assistant.intents | DEFAULT_INTENTS:
            report.errors.append(f"{where}: intent {step['intent']!r} is not listed in the domain")
        for entity in step.get("entities") or []:
            names = set(entity) if isinstance(entity, dict) else {entity}
            for name in names - {"role", "group"}:
                if name not in assistant.entities:
                    report.errors.append(f"{where}: entity {name!r} is not listed in the domain")
    if "action" in step:
        action = step["action"]
        if not isinstance(action, str) or not action:
            report.errors.append(f"{where}: action {action!r} is not a name")
        elif action.startswith("utter_") and action not in assistant.responses:
            report.errors.append(f"{where}: {action!r} is not a valid utterance action (no response)")
        elif action not in assistant.action_names_or_texts:
            report.errors.append(f"{where}: action {action!r} is not listed in the domain")
    if "active_loop" in step:
        loop = step["active_loop"]
        if loop is not None and loop not in assistant.forms:
            report.errors.append(f"{where}: the form {loop!r} is not listed in the domain")
    if "slot_was_set" in step:
        for entry in step["slot_was_set"] or []:
            names = set(entry) if isinstance(entry, dict) else {entry}
            for name in names:
                if name not in set(assistant.slots) | DEFAULT_SLOTS:
                    report.errors.append(f"{where}: slot {name!r} is not listed in the domain")


def _custom_actions(assistant: Assistant, registered: set[str], report: Report) -> None:
    """What Rasa sends to the action endpoint (the domain's actions that are not responses,
    and `validate_<form>`) is exactly what the action server runs."""
    custom = {a for a in assistant.actions if not a.startswith("utter_")}
    for action in sorted(custom - registered):
        report.errors.append(f"action {action!r} is in the domain but the action server does not register it")
    for action in sorted(registered - custom):
        report.errors.append(f"action {action!r} is registered but the domain does not list it")
