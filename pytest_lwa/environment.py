"""``pytest-lwa serve`` configured by environment variables, for a container that is given no arguments
(GitHub Actions' ``services:``).

Every option of ``serve`` has a variable named after it, ``LWA_`` and the option's name in capitals
(``--expires-in`` is ``LWA_EXPIRES_IN``), read as the option reads its value; the settings' options are made
from :data:`pytest_lwa.model.SETTINGS`, so every setting has one. ``LWA_CONFIG_TOML`` holds a configuration
file's text itself. An option given on the command line wins over its variable; an empty variable is unset.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .config import ConfigError, load_config, parse_client

__all__ = ["CONFIG_TOML", "PREFIX", "describe", "variables", "with_environment"]

PREFIX: Final = "LWA_"
#: the variable that holds a whole configuration file, as ``--config FILE`` would read it
CONFIG_TOML: Final = "LWA_CONFIG_TOML"
YES: Final = ("1", "true", "yes", "on")
NO: Final = ("0", "false", "no", "off")


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse keeps its subcommands' parsers on this action only
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]  # type: ignore[no-any-return]
    raise LookupError(name)


def variables(parser: argparse.ArgumentParser, command: str = "serve") -> dict[str, argparse.Action]:
    """Each variable that sets an option of ``command``, and that option."""
    options = (
        action
        for action in _subcommand(parser, command)._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    )
    return {PREFIX + action.dest.upper(): action for action in options}


def describe(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Name each option's variable in ``serve --help``; returns ``parser``."""
    for name, action in variables(parser).items():
        action.help = f"{action.help or ''} [{name}]".lstrip()
    serve = _subcommand(parser, "serve")
    serve.epilog = (
        f"Each option can be set by the environment variable in brackets (an option given here wins); {CONFIG_TOML}"
        " holds a configuration file's text. Flags take 1, true, yes, on or 0, false, no, off; --client's variable"
        " takes clients separated by spaces."
    )
    return parser


def _flag(name: str, text: str) -> bool:
    if text.strip().lower() in YES:
        return True
    if text.strip().lower() in NO:
        return False
    raise ConfigError(f"{name}={text!r}: expected {', '.join(YES)} (on) or {', '.join(NO)} (off)")


def _value(name: str, action: argparse.Action, text: str) -> Any:
    try:
        value = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, ValueError) as error:
        raise ConfigError(f"{name}={text!r}: {error}") from None
    if action.choices is not None and value not in action.choices:
        raise ConfigError(f"{name}={text!r}: expected one of {', '.join(map(str, action.choices))}")
    return value


def _read(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> dict[str, Any]:
    """The options the environment sets, by ``dest``, each checked as its option checks it."""
    values: dict[str, Any] = {}
    for name, action in variables(parser).items():
        text = environ.get(name, "")
        if not text:
            continue
        if action.nargs == 0:  # --tls, --json-body/--no-json-body
            values[action.dest] = _flag(name, text)
        elif isinstance(action, argparse._AppendAction):
            values[action.dest] = [_value(name, action, item) for item in text.split()]
        else:
            values[action.dest] = _value(name, action, text)
    return values


def with_environment(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, environ: Mapping[str, str]
) -> argparse.Namespace:
    """``serve``'s arguments, ``argv`` parsed again with the environment's values as the defaults.

    The result has ``config_toml``: the text of ``LWA_CONFIG_TOML``, or ``None``. Raises
    :class:`~pytest_lwa.config.ConfigError` naming the variable whose value cannot be used.
    """
    given = parser.parse_args(argv)
    values = _read(parser, environ)
    config_toml = environ.get(CONFIG_TOML) or None
    if given.config is not None:  # --config on the command line wins over both variables
        values.pop("config", None)
        config_toml = None
    elif config_toml is not None and "config" in values:
        raise ConfigError(f"{PREFIX}CONFIG and {CONFIG_TOML} are both set; set one of them")
    elif "config" in values:
        try:
            load_config(values["config"])
        except ConfigError as error:
            raise ConfigError(f"{PREFIX}CONFIG: {error}") from None
    for text in values.get("client", []):
        try:
            parse_client(text)
        except ConfigError as error:
            raise ConfigError(f"{PREFIX}CLIENT: {error}") from None
    lists = {action.dest for action in variables(parser).values() if isinstance(action, argparse._AppendAction)}
    appended = {dest: values.pop(dest) for dest in lists & set(values)}
    _subcommand(parser, "serve").set_defaults(**values)
    args = parser.parse_args(argv)
    for dest, items in appended.items():
        if not getattr(args, dest):  # a --client on the command line replaces the variable's clients
            setattr(args, dest, items)
    args.config_toml = config_toml
    return args
