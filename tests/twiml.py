"""Reading TwiML as Twilio does: the XML tree, not its formatting."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

Element = ElementTree.Element


def parse(text: str) -> Element:
    root = ElementTree.fromstring(text.encode())  # noqa: S314 (our own app's answer, in a test)
    assert root.tag == "Response", text
    return root


def verbs(root: Element) -> list[str]:
    return [child.tag for child in root]


def says(root: Element) -> list[Element]:
    return list(root.iter("Say"))


def enqueue(root: Element) -> Element:
    [found] = root.findall("Enqueue")
    return found


def task(root: Element) -> tuple[dict[str, Any], Element]:
    """The TaskRouter <Task> inside <Enqueue>: its JSON attributes and the element."""
    element = enqueue(root).find("Task")
    assert element is not None
    return json.loads(element.text or ""), element


def gather_action(root: Element) -> str:
    gather = root.find("Gather")
    assert gather is not None
    return gather.attrib["action"]
