"""Naming a browser for the people who see a list of signed-in devices."""

from __future__ import annotations


def describe_device(user_agent: str | None) -> str:
    """A short, human label for a device: "Phone · Safari". Never the raw header."""
    agent = user_agent or ""
    if "iPad" in agent or "Tablet" in agent:
        kind = "Tablet"
    elif any(word in agent for word in ("Mobile", "iPhone", "Android")):
        kind = "Phone"
    else:
        kind = "Computer"
    for marker, name in (
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ):
        if marker in agent:
            return f"{kind} · {name}"
    return kind
