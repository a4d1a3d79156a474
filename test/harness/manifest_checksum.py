#!/usr/bin/env python3
"""Recompute the checksum of lc2-backup-controller backup manifests, version 1.1.

The rule (docs/manifest.md): parse the manifest as written, remove the
top-level "checksum" member, serialize the rest in the RFC 8785 JSON
Canonicalization Scheme (JCS), hash the UTF-8 bytes with SHA-256; the checksum
is "sha256:" followed by the 64 lowercase hex digits.

This is an independent implementation, standard library only, used by the Go
tests to prove that the checksum can be recomputed outside Go. It implements
all of RFC 8785 for what JSON can hold:

  * object members sorted by their names as UTF-16 code units;
  * strings escaped only where RFC 8785 requires: '"', '\\', and control
    characters below U+0020 as \\b \\f \\n \\r \\t or \\u00xx (lowercase hex);
    everything else, '<' '>' '&' U+2028 U+2029 and characters outside the
    BMP included, is written as literal UTF-8;
  * numbers parsed as IEEE 754 doubles and written as ECMAScript's
    Number.prototype.toString writes them (so integers up to 2^53 come out as
    plain decimals, 4.50 as 4.5, 1E30 as 1e+30);
  * input that RFC 8785 (I-JSON) refuses is refused with an error: invalid
    UTF-8, lone surrogates, duplicate member names, NaN/Infinity, numbers
    outside the double range.

Usage:
  manifest_checksum.py FILE...
      For each manifest FILE ("-" reads standard input) print
      "<computed checksum>  <FILE>". Exit 1 if any recorded checksum is
      missing or differs from the computed one (details on stderr).
  manifest_checksum.py --canonical FILE
      Write the canonical form of FILE to standard output: the exact bytes
      that are hashed (no trailing newline). Works on any JSON document; a
      top-level "checksum" member is left out.

Exit status: 0 every checksum matches; 1 a checksum is missing or differs;
2 a file cannot be read or is not JSON that RFC 8785 accepts, or bad usage.

Version 1.0 manifests use a legacy Go-specific rule that this script does not
implement; it reports them as errors (verify them with the Go package).
"""

import hashlib
import json
import math
import sys

CHECKSUM_MEMBER = "checksum"
VERSION = "1.1"


class CanonicalizationError(ValueError):
    """The input is not JSON that RFC 8785 can canonicalize."""


def _reject_constant(name):
    raise CanonicalizationError(f"{name} is not a JSON number")


def _unique_members(pairs):
    obj = {}
    for name, value in pairs:
        if name in obj:
            raise CanonicalizationError(f"duplicate member name {name!r}")
        obj[name] = value
    return obj


def parse(data):
    """Parse UTF-8 JSON bytes; every number becomes a float (an IEEE 754 double)."""
    try:
        text = data.decode("utf-8")  # strict: invalid UTF-8 is an error
    except UnicodeDecodeError as e:
        raise CanonicalizationError(f"not UTF-8: {e}") from None
    try:
        return json.loads(
            text,
            parse_int=float,  # RFC 8785 treats every number as a double
            parse_float=float,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_members,
        )
    except json.JSONDecodeError as e:
        raise CanonicalizationError(f"not JSON: {e}") from None
    except RecursionError:
        raise CanonicalizationError("nested too deeply") from None


def number_to_json(x):
    """ECMAScript Number::toString (ECMA-262 sec. 6.1.6.1.20) for a finite double, as RFC 8785 sec. 3.2.2.3 requires."""
    if math.isnan(x) or math.isinf(x):
        raise CanonicalizationError("number outside the IEEE 754 double range")
    if x == 0:
        return "0"  # also -0
    sign = "-" if x < 0 else ""
    # repr gives the shortest decimal digits that round-trip to x, choosing the
    # closest such digits to x: the digits s (of length k) ECMAScript asks for.
    mantissa, _, exponent = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    # x = 0.<digits> * 10^n
    n = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = ("e+" if e >= 0 else "e-") + str(abs(e))
    if k == 1:
        return sign + digits + exp
    return sign + digits[0] + "." + digits[1:] + exp


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def string_to_json(s):
    """A JSON string as RFC 8785 sec. 3.2.2.2 writes it."""
    out = ['"']
    for c in s:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c < " ":
            out.append(f"\\u{ord(c):04x}")
        elif "\ud800" <= c <= "\udfff":
            # json.loads joins valid \\u surrogate pairs; one left is lone.
            raise CanonicalizationError(f"lone surrogate \\u{ord(c):04x} in string")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _utf16_key(name):
    return name.encode("utf-16-be", "surrogatepass")


def serialize(value, out):
    """Append the RFC 8785 form of a parsed JSON value to the list out."""
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, float):
        out.append(number_to_json(value))
    elif isinstance(value, str):
        out.append(string_to_json(value))
    elif isinstance(value, list):
        out.append("[")
        for i, element in enumerate(value):
            if i:
                out.append(",")
            serialize(element, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        # Sorting the UTF-16BE encodings bytewise sorts by UTF-16 code units.
        for i, name in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(string_to_json(name))
            out.append(":")
            serialize(value[name], out)
        out.append("}")
    else:  # not produced by parse
        raise CanonicalizationError(f"unexpected value {value!r}")


def canonicalize(value):
    """The RFC 8785 canonical form of a parsed JSON value, as UTF-8 bytes."""
    out = []
    serialize(value, out)
    return "".join(out).encode("utf-8")


def content_canonical(data):
    """Canonical bytes of a JSON document without its top-level "checksum" member, and the member (or None)."""
    doc = parse(data)
    recorded = None
    if isinstance(doc, dict):
        recorded = doc.pop(CHECKSUM_MEMBER, None)
    return canonicalize(doc), recorded


def manifest_checksum(data):
    """(computed, recorded) checksums of a version 1.1 manifest."""
    doc = parse(data)
    if not isinstance(doc, dict):
        raise CanonicalizationError("a manifest is a JSON object")
    version = doc.get("version")
    if version != VERSION:
        raise CanonicalizationError(
            f"manifest version is {version!r}; only {VERSION!r} is hashed with RFC 8785 "
            "(version 1.0 uses the legacy Go encoding/json rule: verify it with the Go package)"
        )
    recorded = doc.pop(CHECKSUM_MEMBER, None)
    computed = "sha256:" + hashlib.sha256(canonicalize(doc)).hexdigest()
    return computed, recorded


def _read(path):
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def main(argv):
    if len(argv) == 2 and argv[0] == "--canonical":
        try:
            canonical, _ = content_canonical(_read(argv[1]))
        except (OSError, CanonicalizationError) as e:
            print(f"{argv[1]}: {e}", file=sys.stderr)
            return 2
        sys.stdout.buffer.write(canonical)
        return 0
    if not argv or any(a.startswith("--") for a in argv):
        print(__doc__.split("Usage:", 1)[1].split("Exit status", 1)[0].rstrip(), file=sys.stderr)
        return 2
    status = 0
    for path in argv:
        try:
            computed, recorded = manifest_checksum(_read(path))
        except (OSError, CanonicalizationError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            status = 2
            continue
        print(f"{computed}  {path}")
        if recorded is None:
            print(f"{path}: no checksum recorded", file=sys.stderr)
            status = max(status, 1)
        elif recorded != computed:
            print(f"{path}: checksum mismatch: recorded {recorded}, computed {computed}", file=sys.stderr)
            status = max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
