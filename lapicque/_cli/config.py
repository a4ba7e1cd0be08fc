"""``--config FILE.toml``: a TOML file as the equivalent command-line options, each value type-checked."""

from __future__ import annotations

import argparse
from typing import List, Optional

from .common import CLIError


def _config_argv(path: str, sub: argparse.ArgumentParser) -> (List[str], Optional[str]):
    """A TOML file as the equivalent command-line options (and the model it names).

    Every value must have the TOML type its option takes: a string (or a
    number) for a value option, ``true``/``false`` for a switch, an integer
    for a count; anything else is refused naming the key and what it takes.
    """
    import tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise CLIError(f"--config: cannot read {path!r} ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise CLIError(f"--config: {path!r} is not valid TOML ({e})") from None
    options = {a.dest: a for a in sub._actions if a.option_strings and a.dest not in ("help", "config")}
    model = data.pop("model", None)
    if model is not None and not isinstance(model, str):
        raise CLIError(f"--config: 'model' in {path} must be a model name in quotes, e.g. model = \"LIF\"; "
                       f"got {_toml_repr(model)}")
    argv: List[str] = []
    for key, value in data.items():
        action = options.get(key.replace("-", "_"))
        if action is None:
            raise CLIError(f"--config: unknown key {key!r} in {path}; known: model, {', '.join(options)}")
        argv += _toml_option(key, value, action, f"--config: {key!r} in {path}")
    return argv, model


def _toml_option(key: str, value, action: argparse.Action, where: str) -> List[str]:
    """One TOML key as command-line options; ``where`` starts the error message."""
    flag = action.option_strings[-1] if action.dest != "from_" else "--from"
    if key == "set":
        if not isinstance(value, dict):
            raise CLIError(f"{where} must be a table, e.g. [set] tau = \"10ms\"; got {_toml_repr(value)}")
        bad = {k: v for k, v in value.items() if not _is_scalar(v)}
        if bad:
            k = next(iter(bad))
            raise CLIError(f"{where}: {k} must be a value such as \"10ms\", a number or true/false; "
                           f"got {_toml_repr(bad[k])}")
        return [x for k, v in value.items() for x in ("--set", f"{k}={_toml_text(v)}")]
    if action.nargs == 0:  # a switch
        if not isinstance(value, bool):
            raise CLIError(f"{where} must be true or false (no quotes); got {_toml_repr(value)}")
        if action.dest == "progress":
            return ["--progress" if value else "--no-progress"]
        return [flag] if value else []
    if getattr(action.type, "whole_number", False):  # checked by the option's type (_whole)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise CLIError(f"{where} must be a whole number, e.g. {key} = 10; got {_toml_repr(value)}")
        return [f"{flag}={value}"]
    if action.dest == "record" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [f"{flag}={','.join(value)}"]
    if isinstance(value, bool) or not _is_scalar(value):
        example = action.default if isinstance(action.default, str) else _TOML_EXAMPLES.get(action.dest, "...")
        raise CLIError(f"{where} must be a value in quotes, e.g. {key} = \"{example}\"; got {_toml_repr(value)}")
    return [f"{flag}={_toml_text(value)}"]


#: example values of the options without a default, for the messages about a TOML file
_TOML_EXAMPLES = {"current": "500pA", "offset": "0mA", "sigma": "0.5mA", "start": "10ms", "stop": "100ms", "record": "V,w", "out": "run.npz",
                  "plot": "run.png", "json": "run.json", "from_": "0mA", "to": "10mA"}


def _is_scalar(v) -> bool:
    return isinstance(v, (str, int, float, bool))


def _toml_text(v) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _toml_repr(v) -> str:
    """A value as TOML writes it (``true``, ``5``, ``"yes"``, ``[1, 2]``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_repr(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_repr(x)}" for k, x in v.items()) + "}"
    return str(v)
