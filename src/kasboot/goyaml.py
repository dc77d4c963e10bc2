"""Printing JSON-shaped data exactly as sigs.k8s.io/yaml.Marshal does (JSON, then
go-yaml v2's emitter), which is how kubectl and the flux CLI print objects.

Only the block style those tools produce is covered: sorted keys (go-yaml's natural
order), 2-space indent, sequences not indented under their key, go-yaml v2's
quoting rules (YAML 1.1 words such as `yes` are quoted) and its folding of long
scalars at a space past column 80. Keys longer than 128 characters (which go-yaml
writes as `? key`) are not supported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

_BEST_WIDTH = 80  # go-yaml v2 folds long scalars at spaces past this column


def marshal(obj: Any) -> str:
    """sigs.k8s.io/yaml.Marshal of JSON-shaped data (dict, list, str, int, float,
    bool, None), reproducing go-yaml v2's emitter for the block style it uses."""
    lines: list[str] = []
    if isinstance(obj, Mapping) and obj:
        _emit_mapping(obj, lines, 0, "")
    elif isinstance(obj, list) and obj:
        _emit_sequence(obj, lines, 0, "")
    else:
        lines.append(_scalar_node(obj, 0, 2) + "\n")
    return "".join(lines)


def _go_key_less(a: str, b: str) -> bool:
    """go-yaml v2 sorter.go for string keys: letters after non-letters, digit runs
    compared as numbers ("a2" < "a10")."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def go_sorted_keys(mapping: Mapping[str, Any]) -> list[str]:
    def compare(a: str, b: str) -> int:
        return -1 if _go_key_less(a, b) else (1 if _go_key_less(b, a) else 0)

    return sorted(mapping, key=cmp_to_key(compare))


def _emit_mapping(node: Mapping[str, Any], out: list[str], indent: int, pending: str) -> None:
    """Keys at column `indent`. `pending` is the unfinished current line: "key:"
    (the mapping starts on the next line) or "- " (the first key follows the dash)."""
    for position, key in enumerate(go_sorted_keys(node)):
        key_text = _scalar(str(key), column=0, indent=indent, simple_key=True)
        if position == 0 and pending.endswith("- "):
            line = pending + key_text + ":"
        else:
            if position == 0 and pending:
                out.append(pending + "\n")
            line = " " * indent + key_text + ":"
        value = node[key]
        if isinstance(value, Mapping) and value:
            _emit_mapping(value, out, indent + 2, line)
        elif isinstance(value, list) and value:
            _emit_sequence(value, out, indent, line)  # go-yaml v2: not indented under the key
        else:
            column = len(line) + 1
            out.append(line + " " + _scalar_node(value, column, indent + 2) + "\n")


def _emit_sequence(node: list[Any], out: list[str], indent: int, pending: str) -> None:
    for position, item in enumerate(node):
        if position == 0 and pending.endswith("- "):
            line = pending + "- "
        else:
            if position == 0 and pending:
                out.append(pending + "\n")
            line = " " * indent + "- "
        if isinstance(item, Mapping) and item:
            _emit_mapping(item, out, indent + 2, line)
        elif isinstance(item, list) and item:
            _emit_sequence(item, out, indent + 2, line)
        else:
            out.append(line + _scalar_node(item, len(line), indent + 2) + "\n")


def _scalar_node(value: Any, column: int, indent: int) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    return _scalar(str(value), column=column, indent=indent, simple_key=False)


def go_float(value: float) -> str:
    """strconv.FormatFloat(v, 'g', -1, 64): shortest digits, %e when exp < -4 or >= 6."""
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digits_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    exponent += len("".join(map(str, digits_tuple))) - len(digits)
    point = len(digits) + exponent  # value = 0.<digits> * 10**point
    negative = "-" if sign else ""
    sci_exponent = point - 1
    if sci_exponent < -4 or sci_exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp_sign = "-" if sci_exponent < 0 else "+"
        return f"{negative}{mantissa}e{exp_sign}{abs(sci_exponent):02d}"
    if point <= 0:
        return f"{negative}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return negative + digits + "0" * (point - len(digits))
    return f"{negative}{digits[:point]}.{digits[point:]}"


# go-yaml v2 resolve(): a plain scalar that would read back as anything but a string
# must be quoted.
_RESOLVED_WORDS = frozenset(
    [
        *("~", "null", "Null", "NULL", "<<"),
        *("y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"),
        *("n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"),
        *(".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF"),
        *("+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"),
    ]
)
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}"
    r"([Tt]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})|( \d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?))?$"
)
_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _resolves_as_string(text: str) -> bool:
    if not text:
        return False  # "" reads back as null
    first = text[0]
    if first not in "+-0123456789.yYnNtTfFoO~<":
        return True
    if text in _RESOLVED_WORDS:
        return False
    if first == ".":
        return not _DOT_FLOAT.match(text)
    if first in "+-0123456789":
        plain = text.replace("_", "")
        if _TIMESTAMP.match(text) or _GO_INT.match(plain) or _YAML_FLOAT.match(plain):
            return False
    return True


def _is_printable(char: str) -> bool:
    code = ord(char)
    return (
        code == 0x0A
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


def _analyze(text: str) -> tuple[bool, bool, bool, bool]:
    """go-yaml v2 yaml_emitter_analyze_scalar: (multiline, block_plain_allowed,
    single_quoted_allowed, block_allowed)."""
    if not text:
        return False, True, True, False
    block_indicators = text.startswith(("---", "..."))
    special = line_breaks = False
    leading = text[0] in " \n" or text[-1] in " \n"
    trailing_space = text[-1] == " "
    break_space = space_break = False
    preceded_by_whitespace = True
    for i, char in enumerate(text):
        followed_by_whitespace = i + 1 >= len(text) or text[i + 1] in " \t"
        if i == 0:
            indicator = char in "#,[]{}&*!|>'\"%@`"
            if indicator or (char in "?:-" and followed_by_whitespace):
                block_indicators = True
        elif (char == ":" and followed_by_whitespace) or (char == "#" and preceded_by_whitespace):
            block_indicators = True
        if not _is_printable(char):
            special = True
        if char == " ":
            if i > 0 and text[i - 1] in "\n\r\x85\u2028\u2029":
                break_space = True
        elif char in "\n\r\x85\u2028\u2029":
            line_breaks = True
            if i > 0 and text[i - 1] == " ":
                space_break = True
        preceded_by_whitespace = char in " \t\n\r\x85\u2028\u2029"
    block_plain = not (leading or break_space or space_break or special or line_breaks)
    block_plain = block_plain and not block_indicators
    single_quoted = not (break_space or space_break or special)
    block = not (trailing_space or space_break or special)
    return line_breaks, block_plain, single_quoted, block


def _scalar(text: str, *, column: int, indent: int, simple_key: bool) -> str:
    """A string as go-yaml v2 writes it starting at `column`; continuation lines
    (folding, block scalars) start at `indent`."""
    if not _resolves_as_string(text) or _BASE60_FLOAT.match(text):
        style = "double"
    elif "\n" in text:
        style = "literal"
    else:
        style = "plain"
    multiline, block_plain, single_quoted, block = _analyze(text)
    if simple_key and multiline:
        style = "double"
    if style == "plain" and (not block_plain or (not text and simple_key)):
        style = "single"
    if style == "single" and not single_quoted:
        style = "double"
    if style == "literal" and (not block or simple_key):
        style = "double"
    if style == "literal":
        return _literal(text, indent)
    return _folded_quoted(text, style, column, indent, allow_breaks=not simple_key)


def _literal(text: str, indent: int) -> str:
    header = "|"
    if text[0] in " \n":
        header += "2"
    if not text.endswith("\n"):
        header += "-"
    elif len(text) == 1 or text[-2] == "\n":
        header += "+"
    body = []
    for line in text.split("\n")[: -1 if text.endswith("\n") else None]:
        body.append(" " * indent + line if line else "")
    return header + "\n" + "\n".join(body)


_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}  # fmt: skip


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return "\\" + _ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def _folded_quoted(text: str, style: str, column: int, indent: int, allow_breaks: bool) -> str:
    """Plain, single- or double-quoted, folded at a space once past column 80."""
    quote = {"plain": "", "single": "'", "double": '"'}[style]
    out = [quote]
    column += len(quote)
    spaces = False
    for i, char in enumerate(text):
        if char == " ":
            next_is_space = i + 1 < len(text) and text[i + 1] == " "
            fold = allow_breaks and not spaces and column > _BEST_WIDTH
            if style == "plain":
                fold = fold and not next_is_space
            elif style == "single":
                fold = fold and 0 < i < len(text) - 1 and not next_is_space
            else:
                fold = fold and 0 < i < len(text) - 1
            if fold:
                out.append("\n" + " " * indent)
                column = indent
                if style == "double" and next_is_space:
                    out.append("\\")
                    column += 1
            else:
                out.append(" ")
                column += 1
            spaces = True
            continue
        if style == "double" and (not _is_printable(char) or char in '"\\\n\ufeff\x85\u2028\u2029'):
            piece = _escape(char)
        elif style == "single" and char == "'":
            piece = "''"
        else:
            piece = char
        out.append(piece)
        column += len(piece)
        spaces = False
    out.append(quote)
    return "".join(out)
