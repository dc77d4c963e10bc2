"""Where the global flags may stand: `--debug` and `-v/--verbose` are accepted before or
after the sub-command (glab and kubectl users put them at the end of the line they just
ran). The command line is rewritten before click parses it, so each flag reaches the one
parser that declares it:

- `--debug` belongs to the group: moved in front of the sub-command.
- `-v/--verbose` belongs to the commands that report (bootstrap, plan, doctor, …): moved
  behind the innermost sub-command's name when that command declares it, else kept on
  the group (which accepts it too, so `kasboot -v sandbox up` is not a usage error).

Pure functions over the argument list; finding out whether a command declares `-v`
takes a callback, so that only a command that is about to run gets imported."""

from __future__ import annotations

from collections.abc import Callable, Sequence

DEBUG = "--debug"
VERBOSE = ("-v", "--verbose")
# The group's own options; none takes a value, so the first other word is the command.
GROUP_FLAGS = frozenset({DEBUG, *VERBOSE, "--version", "-h", "--help"})

# (path of sub-command names) -> does the innermost one declare -v/--verbose?
# None: the path names no command.
Declares = Callable[[Sequence[str]], bool | None]


def options_part(argv: Sequence[str]) -> list[str]:
    """The words before `--` (after it everything is an argument, flags included)."""
    return list(argv[: list(argv).index("--")] if "--" in argv else argv)


def command_path(argv: Sequence[str], is_group: Callable[[Sequence[str]], bool]) -> list[int]:
    """Indexes of the sub-command names in `argv`: the first word that is not a group
    flag, then (while that names a group) the first non-option word after it."""
    head = options_part(argv)
    indexes: list[int] = []
    position = 0
    while position < len(head):
        word = head[position]
        if indexes and word.startswith("-"):
            position += 1
            continue
        if not indexes and word in GROUP_FLAGS:
            position += 1
            continue
        if word.startswith("-"):  # an unknown group option: click reports it
            return indexes
        indexes.append(position)
        if not is_group([head[i] for i in indexes]):
            return indexes
        position += 1
    return indexes


def place_global_flags(
    argv: Sequence[str],
    is_group: Callable[[Sequence[str]], bool],
    declares_verbose: Declares,
) -> list[str]:
    """`argv` with `--debug` in front of the sub-command and `-v/--verbose` where the
    command that declares it will see it (see the module docstring)."""
    args = list(argv)
    head = options_part(args)
    tail = args[len(head) :]
    path = command_path(head, is_group)
    if not path:
        return args
    first = path[0]
    debug = DEBUG in head
    before = [w for w in head[:first] if w != DEBUG]
    rest = [w for w in head[first:] if w != DEBUG]
    names = [head[i] for i in path]
    verbose_before = [w for w in before if w in VERBOSE]
    verbose_after = [w for w in rest if w in VERBOSE]
    if not verbose_before and not verbose_after:
        return [*([DEBUG] if debug else []), *before, *rest, *tail]
    declared = declares_verbose(names)
    before = [w for w in before if w not in VERBOSE]
    rest = [w for w in rest if w not in VERBOSE]
    group_flags = [DEBUG] if debug else []
    if declared:
        # Right behind the innermost command's name: rest starts with the names (and any
        # options between them), so find the innermost name's position again.
        innermost = _index_of_path_end(rest, names)
        rest = [*rest[: innermost + 1], "--verbose", *rest[innermost + 1 :]]
    else:
        group_flags.append("--verbose")
    return [*group_flags, *before, *rest, *tail]


def _index_of_path_end(words: Sequence[str], names: Sequence[str]) -> int:
    position = -1
    for name in names:
        position = list(words).index(name, position + 1)
    return position
