"""Running the `authrelay` command for a test.

By default in this process: the entry point `main()` (argument parsing, error handling and
exit status as `python -m authrelay` has them) with its own environment, standard input
and captured output. A new interpreter costs about a second of CPU per command (imports),
which the suite paid some two hundred times. `process=True` starts the real command
instead, for what only a process shows (the module entry point, signals, a terminal)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment without authrelay's and Scalekit's variables, plus `extra`:
    what a command run by a test sees."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHRELAY_", "SCALEKIT_"))}
    env.update(extra)
    return env


@dataclass
class Result:
    """What a finished command left, as `subprocess.CompletedProcess` has it."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_authrelay(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: str | None = None,
    process: bool = False,
) -> Result:
    """`authrelay ARGS` with exactly the environment `env`; `stdin` is its standard input
    (none: empty, not a terminal)."""
    if process:
        proc = subprocess.run(
            [sys.executable, "-m", "authrelay", *args],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=120,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _in_process(list(args), env, stdin or "")
    # From a running event loop (async tests): the command runs its own loops.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_in_process, list(args), env, stdin or "").result()


def _in_process(args: list[str], env: Mapping[str, str], stdin: str) -> Result:
    from authrelay.cli.main import main

    _fresh_consoles()
    _fresh_browsers()
    saved_environ = dict(os.environ)
    saved = sys.argv, sys.stdin, sys.stdout, sys.stderr
    # Text streams over bytes, as a process has them (`request` writes to stdout.buffer).
    out, err = _stream(b""), _stream(b"")
    os.environ.clear()
    os.environ.update(env)
    sys.argv, sys.stdin = ["authrelay", *args], _stream(stdin.encode())
    sys.stdout, sys.stderr = out, err
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message"): the interpreter prints it and exits 1
            err.write(f"{exc.code}\n")
            code = 1
    finally:
        sys.argv, sys.stdin, sys.stdout, sys.stderr = saved
        os.environ.clear()
        os.environ.update(saved_environ)
    return Result(args, code, _text(out), _text(err))


def _stream(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    """What was written, read as `subprocess.run(text=True)` reads it."""
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def _fresh_consoles() -> None:
    """The CLI's consoles are built on first use and read the terminal width then: build
    them anew for each command, as each process would."""
    from authrelay.cli._lazy import LazyConsole

    for name, module in list(sys.modules.items()):
        if name.startswith("authrelay.cli"):
            for value in vars(module).values():
                if isinstance(value, LazyConsole):
                    value._console = None


def _fresh_browsers() -> None:
    """`webbrowser` reads BROWSER once per process, when it first opens something: forget
    what it read, so that each command's BROWSER is used, as each process would."""
    import webbrowser

    with webbrowser._lock:  # type: ignore[attr-defined]
        webbrowser._tryorder = None  # type: ignore[attr-defined]
        webbrowser._browsers.clear()  # type: ignore[attr-defined]


def command_paths(group: Any, prefix: str = "authrelay") -> list[str]:
    """Every command of a click group `group` as `PREFIX NAME ...`, groups walked through."""
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):  # a command group
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths
