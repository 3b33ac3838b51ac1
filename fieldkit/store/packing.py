"""The stored form of an entity's fold state (`pack_state`): each value once, each op's
metadata once, and the values a large save set left in its op's sealed body."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import compact_encoder

_ENCODE = compact_encoder()
_HEADS_JSON: dict[tuple[Any, ...], str] = {}
"""`pack_whole`'s `h` of a doc whose every field has its one version in the doc's one
op, as JSON, by the fields' names in order (a few record kinds: a few entries)."""
_HEADS_JSON_MAX = 256

__all__ = [
    "full_fields",
    "main_op_id",
    "pack_whole",
    "pack_state",
    "pack_with_fields",
    "unpack_state",
]


def _marks(entity: str, fields: dict[str, Any], state: dict[str, Any]) -> list[Any]:
    """The view's marks, as `EntityView.of` finds them: signed, altered after signing, and
    how many safety-critical fields hold concurrent versions."""
    mark = state.get("signed")
    signed_hash = mark.get("v") if mark else None
    altered = bool(signed_hash) and changelog.content_hash(fields) != signed_hash
    critical_names = changelog.SAFETY_CRITICAL_FIELDS.get(entity)
    critical = (
        sum(
            1 for name, heads in state["heads"].items() if len(heads) > 1 and name in critical_names
        )
        if critical_names
        else 0
    )
    return [mark is not None, altered, critical]


def pack_state(entity: str, state: dict[str, Any], main: str | None = None) -> dict[str, Any]:
    """The stored form of a fold state: each value once, each op's metadata once.

    `f` holds every field's current value (what screens and rules read, the view) but those
    whose current version is `main`'s: these are read from that op's sealed body (`b` is
    its place in `o`; the row's `vop` names it), so a saved visit does not hold its values
    twice. `h` names, per field, its heads by their op's place in `o` (op id, hlc, device,
    author); a head that is not the field's current one also carries its own value (a
    conflict). `m` holds the view's marks. `n` (how many ops were folded) and `l` (the
    newest) come first, so `verify` reads them without parsing the rest (`fold_counts`).
    `unpack_state` gives back the state `changelog.apply` folds.
    """
    return pack_with_fields(entity, state, main)[0]


def pack_with_fields(
    entity: str, state: dict[str, Any], main: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`pack_state`, and every field's current value (`changelog.values`) found on the way."""
    ops: list[list[Any]] = []
    place: dict[str, int] = {}
    fields: dict[str, Any] = {}
    stored: dict[str, Any] = {}
    heads_out: dict[str, list[Any]] = {}
    for name, heads in state["heads"].items():
        if len(heads) == 1:  # one version, no conflict: most fields
            head = heads[0]
            op_id = head["op"]
            at = place.get(op_id)
            if at is None:
                at = place[op_id] = len(ops)
                ops.append([op_id, head["hlc"], head["dev"], head["by"]])
            value = fields[name] = head["v"]
            if op_id != main:
                stored[name] = value
            heads_out[name] = [at]
            continue
        refs: list[Any] = []
        last = len(heads) - 1
        for n, head in enumerate(heads):
            op_id = head["op"]
            at = place.get(op_id)
            if at is None:
                at = place[op_id] = len(ops)
                ops.append([op_id, head["hlc"], head["dev"], head["by"]])
            if n == last:
                refs.append(at)
                fields[name] = head["v"]
                if op_id != main:
                    stored[name] = head["v"]
            else:
                refs.append([at, head["v"]])
        heads_out[name] = refs
    doc: dict[str, Any] = {
        "n": state.get("n", 0),
        "l": state.get("last", ""),
        "f": stored,
        "m": _marks(entity, fields, state),
        "o": ops,
        "h": heads_out,
    }
    if len(stored) < len(fields):
        doc["b"] = place[main] if main is not None else 0
    for short, name in (("p", "pending"), ("d", "deleted"), ("s", "signed")):
        if state.get(name):
            doc[short] = state[name]
    return doc, fields


def main_op_id(doc: dict[str, Any]) -> str | None:
    """The op whose body holds the values `doc` leaves out (`pack_state`), if any."""
    at = doc.get("b")
    return None if at is None else str(doc["o"][at][0])


def full_fields(doc: dict[str, Any], main: dict[str, Any] | None) -> dict[str, Any]:
    """Every current value of a packed doc, in field order: its own and those of its main
    op's `set` (`main`). A value its main op should hold but does not (the op is gone from
    the log: `fieldkit verify` names it) is left out."""
    stored: dict[str, Any] = doc["f"]
    if "b" not in doc:
        return stored
    found = main or {}
    return {
        name: stored[name] if name in stored else found[name]
        for name in doc["h"]
        if name in stored or name in found
    }


def unpack_state(doc: dict[str, Any], main: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fold state of a stored entity (`pack_state`, or a state stored whole before it);
    `main` is the `set` of the op `main_op_id` names."""
    if "heads" in doc:
        return doc
    ops = doc["o"]
    fields = full_fields(doc, main)
    heads: dict[str, list[dict[str, Any]]] = {}
    for name, refs in doc["h"].items():
        out = []
        for ref in refs:
            if isinstance(ref, int):
                at, value = ref, fields.get(name)
            else:
                at, value = ref
            op, hlc, dev, by = ops[at]
            out.append({"v": value, "op": op, "hlc": hlc, "dev": dev, "by": by})
        heads[name] = out
    return {
        "heads": heads,
        "pending": doc.get("p") or {},
        "n": doc["n"],
        "last": doc["l"],
        "deleted": doc.get("d"),
        "signed": doc.get("s"),
    }


def pack_whole(whole: changelog.WholePut) -> str:
    """`ENCODE(pack_state(entity, whole.state(), whole.op_id))`, written straight from a
    `WholePut` whose op's sealed body holds its values: the doc holds no value, one op, and
    each field's head is that op (so no mark: not signed, no conflict)."""
    names = whole.names
    heads_json = _HEADS_JSON.get(names)
    if heads_json is None:
        heads_json = _ENCODE(dict.fromkeys(names, [0]))
        if len(_HEADS_JSON) >= _HEADS_JSON_MAX:
            _HEADS_JSON.clear()
        _HEADS_JSON[names] = heads_json
    text = encode_basestring_ascii
    return (
        f'{{"n":{whole.n},"l":{text(whole.last)},"f":{{}},"m":[false,false,0],'
        f'"o":[[{text(whole.op_id)},{text(whole.hlc)},{text(whole.dev)},{text(whole.by)}]],'
        f'"h":{heads_json},"b":0}}'
    )
