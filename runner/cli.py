"""The `runner` command: parse arguments, call the core, map errors to exit codes.

Subcommands live in runner/commands/, one module each, and register themselves through
the ``runner_register_commands`` hook like any plugin's.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from runner import __version__
from runner.errors import ExitCode, RunnerError, SpecError

# Options that act before the plugins are loaded, so they are taken out of argv first
# and accepted anywhere on the line (as pytest does with -p).
_EARLY_FLAGS = ("--debug", "--trace-hooks")


def _pre_parse(argv: Sequence[str]) -> tuple[list[str], list[str], set[str]]:
    rest: list[str] = []
    plugins: list[str] = []
    flags: set[str] = set()
    it = iter(argv)
    for arg in it:
        if arg == "-p":
            value = next(it, None)
            if value is None:
                raise RunnerError("-p needs a plugin: a module name, a .py file or no:NAME")
            plugins.append(value)
        elif arg.startswith("-p") and len(arg) > 2:
            plugins.append(arg[2:])
        elif arg in _EARLY_FLAGS:
            flags.add(arg)
        else:
            rest.append(arg)
    return rest, plugins, flags


def make_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog="runner",
        description="Run experiments on concurrency models: threads, processes, queues, "
        "pools, coroutines, UDP and TCP.",
    )
    parser.add_argument("--version", action="version", version=f"runner {__version__}")
    parser.add_argument(
        "-p", metavar="PLUGIN", dest="_plugins", action="append",
        help="load a plugin (module name or .py file); -p no:NAME blocks one; repeatable",
    )  # fmt: skip
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("--trace-hooks", action="store_true", help="trace every hook call")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    return parser, sub


# The order `runner --help` lists commands in: the everyday ones first, plugins' last.
_COMMAND_ORDER = ("run", "validate", "show", "list", "schema", "init", "history", "compare",
                  "export", "report", "plot", "serve", "new-plugin")  # fmt: skip


def _order_commands(sub: argparse._SubParsersAction) -> None:
    # pluggy calls the latest registered plugin first, so registration order would list
    # the built-in commands backwards.
    rank = {name: i for i, name in enumerate(_COMMAND_ORDER)}
    actions = getattr(sub, "_choices_actions", None)
    if isinstance(actions, list):
        actions.sort(key=lambda a: rank.get(a.dest, len(rank)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (never raises SystemExit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):  # the fast path: nothing loaded
        print(f"runner {__version__}")
        return ExitCode.OK
    debug = "--debug" in argv
    host = None
    try:
        rest, plugin_args, flags = _pre_parse(argv)
        from runner.plugins import PluginConfig, build

        host = build(PluginConfig.from_args(plugin_args, trace="--trace-hooks" in flags))
        parser, sub = make_parser()
        host.register_commands(sub)
        _order_commands(sub)
        try:
            args = parser.parse_args(rest)
        except SystemExit as exc:  # argparse has printed usage or help
            return int(exc.code or 0)
        return int(args.func(args, host))
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except RunnerError as exc:
        if debug:
            traceback.print_exc()
        print(f"runner: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("runner: interrupted", file=sys.stderr)
        return getattr(exc, "exit_code", ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:
        if debug:
            traceback.print_exc()
        culprit = host.blame(exc) if host is not None else None
        where = f"error in plugin {culprit}" if culprit else "internal error"
        print(f"runner: {where}: {type(exc).__name__}: {exc} (--debug shows the traceback)",
              file=sys.stderr)  # fmt: skip
        return ExitCode.INTERNAL


def console_main() -> None:
    """The console-script entry point: the only place that raises SystemExit."""
    sys.exit(main())
