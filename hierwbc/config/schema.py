"""The machinery under every configuration of the package (the training recipe, the experiment
grid, the CNN baseline's recipe): a typed dataclass is the schema; OmegaConf structured configs
merge it with YAML mappings and ``key=value`` overrides (dotlists), check the types and turn the
result back into the dataclass (``OmegaConf.to_object``); every error is a :class:`ConfigError`
that names the key (and the file) at fault, an unknown key with the closest known one.

What is done here before OmegaConf's merge, because our files and command lines need it:
dotted keys inside a mapping (``model.arch: x``, as in the grids' ``train:``) nested into their
sections, an unknown key named with the user's whole dotted key; a comma list
(``data.sources=pbc,bccd``) or a single value for a list field; ``none`` for an optional field; a
whole float (``max_steps=1e4``) for an integer; the text of a ``key=value`` override kept as text
for a string field (YAML reads ``fsdp=off`` as false).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import operator
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException

_NULLS = ("none", "null", "~")


class ConfigError(ValueError):
    """A configuration key or value that does not exist or does not fit."""


class UnknownKeyError(ConfigError):
    """A key the schema does not have: ``key`` (dotted, as given), ``close`` (the closest known
    key, dotted, or None), ``known`` (the keys of the section it is not in)."""

    def __init__(self, key: str, part: str, section: str, close: str | None, known: list[str], where: str = ""):
        self.key, self.close, self.known = key, close, known
        hint = f"; did you mean {close!r}?" if close else ""
        super().__init__(f"{where}unknown config key {key!r} ({part!r} not in {section or 'top level'}){hint}")


def load_yaml(path: str | Path, what: str = "config file") -> dict:
    """A YAML file's top-level mapping (``{}`` for an empty file); errors name the file."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: cannot read the {what}: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} must be a mapping of keys")
    return data


def split_item(item: str) -> tuple[str, str]:
    """``"key=value"`` -> ``("key", "value")``."""
    key, sep, value = str(item).partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r} is not of the form key=value")
    return key.strip(), value


def nest(schema: type, pairs: Iterable[tuple[str, Any]], where: str = "", text: bool = False,
         aliases: dict[str, str] | None = None) -> dict:
    """The nested plain mapping of ``(dotted key, value)`` pairs for dataclass ``schema``, in order
    (a later value wins); ``text``: the values are ``key=value`` text, read by the field's type.
    ``where`` (a file name) prefixes the errors; ``aliases`` maps short keys to dotted ones."""
    out: dict = {}
    for key, value in pairs:
        key = (aliases or {}).get(key, key)
        _put(out, schema, str(key).split("."), value, [], text, where, tuple(aliases or ()))
    return out


def _put(out: dict, schema, parts: list[str], value, path: list[str], text: bool, where: str,
         aliases: tuple[str, ...] = ()) -> None:
    if dataclasses.is_dataclass(schema):
        hints = _hints(schema)
        head = parts[0]
        if head not in hints:
            close = difflib.get_close_matches(head, list(hints) + list(aliases), n=1)
            raise UnknownKeyError(".".join(path + parts), head, ".".join(path),
                                  ".".join(path + close) if close else None, list(hints), _at(where))
        tp, rest = hints[head], parts[1:]
    else:  # dict[str, V]: one key per level when V is a mapping, else the rest of the dotted key
        tp = typing.get_args(schema)[1] if typing.get_args(schema) else Any
        head, rest = (parts[0], parts[1:]) if _is_mapping(_strip(tp)[0]) else (".".join(parts), [])
    if rest:
        base = _strip(tp)[0]
        if not _is_mapping(base):
            raise ConfigError(f"{_at(where)}unknown config key {'.'.join(path + parts)!r} ({head!r} is not a section)")
        inner = out[head] if isinstance(out.get(head), dict) else {}
        out[head] = inner
        _put(inner, base, rest, value, path + [head], text, where)
    else:
        out[head] = merged(out.get(head), _leaf(tp, value, path + [head], text, where))


def _leaf(tp, value, path: list[str], text: bool, where: str):
    base, optional = _strip(tp)
    origin = typing.get_origin(base)
    if text:
        value = _read_text(base, value, path, where)
    if isinstance(value, str) and optional and value.strip().lower() in _NULLS:
        return None
    if value is None or base is Any:
        return plain(value)
    if dataclasses.is_dataclass(base) or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{_at(where)}{'.'.join(path)}: expected a mapping of keys, got {value!r}")
        if dataclasses.is_dataclass(base) or _is_mapping(_strip(typing.get_args(base)[1])[0]):
            inner: dict = {}
            for k, v in value.items():
                _put(inner, base, str(k).split(".") if dataclasses.is_dataclass(base) else [str(k)], v, path, False,
                     where)
            return inner
        return {k: _leaf(typing.get_args(base)[1], v, path + [str(k)], False, where) for k, v in value.items()}
    if origin in (list, tuple):
        if isinstance(value, str):
            value = (_read_text(Any, value, path, where) if value.strip().startswith("[")
                     else [v.strip() for v in value.split(",")])
        if not isinstance(value, (list, tuple)):
            value = [value]
        args = typing.get_args(base) or (Any,)
        if origin is tuple and Ellipsis not in args and len(value) != len(args):  # OmegaConf names no key
            raise ConfigError(f"{_at(where)}{'.'.join(path)}: expected {len(args)} values, got {len(value)}")
        return [_leaf(args[0], v, path[:-1] + [f"{path[-1]}[{i}]"], False, where) for i, v in enumerate(value)]
    if base is int and not isinstance(value, (bool, int)):
        number = _number(value)
        if number is not None and number.is_integer():
            return int(number)
    return value


def _read_text(base, text: str, path: list[str], where: str):
    """A ``key=value`` value: kept as text for a string field or a comma list, else read as YAML
    (OmegaConf's reading of a dotlist: ``1e-3`` a float, ``[a, b]`` a list, ``null``)."""
    if base is str or (typing.get_origin(base) in (list, tuple) and not text.strip().startswith("[")):
        return text
    try:
        return OmegaConf.to_container(OmegaConf.from_dotlist([f"v={text}"]))["v"]
    except (yaml.YAMLError, OmegaConfBaseException) as e:
        raise ConfigError(f"{_at(where)}{'.'.join(path)}: cannot read {text!r}: {str(e).splitlines()[0]}") from None


def build(base, layers: Iterable[tuple[str, dict]]):
    """The structured config of ``base`` (a dataclass type, or an instance: its values first)
    merged with each ``(where, nested mapping)`` layer in turn, back as a new instance."""
    schema = base if isinstance(base, type) else type(base)
    layers = list(layers)
    if not isinstance(base, type):
        layers.insert(0, ("", plain(dataclasses.asdict(base))))
    try:  # one merge of every layer (a cached schema: OmegaConf.structured takes ~40 ms)
        return OmegaConf.to_object(OmegaConf.merge(_structured(schema), *[layer for _, layer in layers]))
    except OmegaConfBaseException as e:
        error = e
    conf = _structured(schema)
    for where, layer in layers:  # again layer by layer, to name the file or override at fault
        try:
            conf = OmegaConf.merge(conf, layer)
        except OmegaConfBaseException as e:
            raise _explain(e, schema, layer, where) from None
    raise _explain(error, schema, {}, ", ".join(dict.fromkeys(w for w, _ in layers if w))) from None  # in to_object


@functools.cache
def _structured(schema: type):
    return OmegaConf.structured(schema)


def _explain(e: OmegaConfBaseException, schema, layer: dict, where: str) -> ConfigError:
    key, prefix = e.full_key or str(getattr(e, "key", "") or ""), _at(where)
    if not key:
        return ConfigError(f"{prefix}{str(e).splitlines()[0]}")
    if isinstance(e, ConfigKeyError):
        return ConfigError(f"{prefix}unknown config key {key!r}: {str(e).splitlines()[0]}")
    if isinstance(e, MissingMandatoryValue):
        return ConfigError(f"{prefix}{key}: required (no default)")
    names = [p for p in re.split(r"\.|\[\d+\]", key) if p]
    tp, value = _type_at(schema, names), _value_at(layer, names)
    return ConfigError(f"{prefix}{key}: " + (_expected(tp, value) or str(e).splitlines()[0]))


def _expected(tp, value) -> str | None:
    if tp is None or value is _ABSENT:
        return None
    base, _ = _strip(tp)
    if value is None:
        return "may not be null"
    if base is bool:
        return f"expected true/false, got {value!r}"
    if base in (int, float):
        whole = base is int and not isinstance(value, bool) and _number(value) is not None
        return f"expected {'an integer' if whole else 'a number'}, got {value!r}"
    return None


_ABSENT = object()


def _type_at(schema, names: list[str]):
    tp = schema
    for name in names:
        base = _strip(tp)[0]
        if dataclasses.is_dataclass(base):
            tp = _hints(base).get(name)
        elif typing.get_origin(base) in (dict, list, tuple):
            args = typing.get_args(base) or (Any,)
            tp = args[-1] if typing.get_origin(base) is dict else args[0]
        else:
            return None
        if tp is None:
            return None
    return tp


def _value_at(layer, names: list[str]):
    for name in names:
        if not isinstance(layer, dict) or name not in layer:
            return _ABSENT
        layer = layer[name]
    return layer


def _number(value) -> float | None:
    try:
        return float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
    except ValueError:
        return None


def merged(old, new):
    """``new`` over ``old``: mappings merged key by key (recursively), anything else replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: merged(old.get(k), v) for k, v in new.items()}}
    return new


def _at(where: str) -> str:
    """The prefix of an error found in ``where`` (a file), if known."""
    return f"{where}: " if where else ""


def plain(value):
    """OmegaConf containers (from a dotlist) and tuples as plain dicts and lists."""
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _is_mapping(tp) -> bool:
    return dataclasses.is_dataclass(tp) or typing.get_origin(tp) is dict


def _strip(tp) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(tp, False)``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            return functools.reduce(operator.or_, args), True
    return tp, False


@functools.cache
def _hints(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def assign(dst, src) -> None:
    """Copy dataclass ``src``'s values into ``dst`` (same class) in place, section by section."""
    for f in dataclasses.fields(dst):
        new = getattr(src, f.name)
        if dataclasses.is_dataclass(new) and dataclasses.is_dataclass(getattr(dst, f.name)):
            assign(getattr(dst, f.name), new)
        else:
            setattr(dst, f.name, new)
