"""``ceph config dump --format json``: the monitors' central config database.

Since Mimic, options can live in the monitors (``ceph config set client rbd_cache_size 64M``)
instead of ceph.conf. The dump is a JSON list of objects with ``section``, ``name``, ``value``
(always a string), ``level``, ``can_update_at_runtime``, ``mask`` (``""``, ``host:NAME``,
``class:ssd``...) and, in newer releases, ``location_type``/``location_value``.

For a client the database works like the file's sections: ``client.NAME`` over ``client`` over
``global``; within one section an entry whose mask matches the client's host is more specific
than an unmasked one. In Ceph's order of sources the local ceph.conf comes **after** the
database, so a value set in the file wins over one set here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ssdwizard.parsers import ParseError

__all__ = ["ConfigEntry", "for_client", "parse"]

_SOURCE = "ceph config dump"


@dataclass(frozen=True)
class ConfigEntry:
    section: str
    name: str
    value: str
    level: str | None
    can_update_at_runtime: bool | None
    mask: str


def parse(text: str) -> tuple[ConfigEntry, ...]:
    """Parse the JSON dump; :class:`ParseError` for anything that is not such a list."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ParseError(_SOURCE, f"not JSON: {error}") from None
    if not isinstance(data, list):
        raise ParseError(_SOURCE, f"expected a JSON list, got {type(data).__name__}")
    entries = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ParseError(_SOURCE, f"entry {index} is not an object")
        section, name, value = item.get("section"), item.get("name"), item.get("value")
        if not isinstance(section, str) or not isinstance(name, str) or value is None:
            raise ParseError(_SOURCE, f"entry {index} lacks section, name or value")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, (str, int, float)):
            raise ParseError(_SOURCE, f"entry {index}: value is not a scalar")
        level = item.get("level")
        runtime = item.get("can_update_at_runtime")
        mask = item.get("mask", "")
        entries.append(
            ConfigEntry(
                section=section,
                name=name,
                value=str(value),
                level=level if isinstance(level, str) else None,
                can_update_at_runtime=runtime if isinstance(runtime, bool) else None,
                mask=mask if isinstance(mask, str) else "",
            )
        )
    return tuple(entries)


def for_client(
    entries: tuple[ConfigEntry, ...], client_name: str = "client.admin", host: str | None = None
) -> dict[str, ConfigEntry]:
    """The entry that decides each option for ``client_name`` (on ``host``, for host masks).

    Entries with other masks (``class:``, another host) are left out: they do not apply to a
    client on this node, or cannot be judged here.
    """
    rank = {"global": 0, "client": 1, client_name: 2}
    chosen: dict[str, tuple[tuple[int, int], ConfigEntry]] = {}
    for entry in entries:
        if entry.section not in rank:
            continue
        if entry.mask and not (host and entry.mask == f"host:{host}"):
            continue
        key = (rank[entry.section], 1 if entry.mask else 0)
        if entry.name not in chosen or key >= chosen[entry.name][0]:
            chosen[entry.name] = (key, entry)
    return {name: entry for name, (_, entry) in chosen.items()}
