"""Writes js/unicode_tables.json: the Unicode character sets behind Python's str and re semantics,
which JavaScript lacks or defines differently. Run with the Python that exports models:

    .venv/bin/python js/gen_tables.py

Sets, as sorted inclusive code point ranges [first, last]:
  word       re's \\w for str patterns: str.isalnum() or "_" (sre's UNI_WORD)
  digit      re's \\d: str.isdecimal() (sre's UNI_DIGIT)
  space      re's \\s and str.split()'s separators: str.isspace()
  combining  unicodedata.combining(c) != 0: what strip_accents="unicode" drops after NFKD
  unassigned general category Cn in this Python's Unicode database: lower() and NFKD leave these
             unchanged, while a JS engine on a newer Unicode version may map them
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Callable

MAX = 0x110000


def ranges(test: Callable[[str], bool]) -> list[list[int]]:
    out: list[list[int]] = []
    for cp in range(MAX):
        if test(chr(cp)):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def tables() -> dict[str, object]:
    return {
        "unicode_version": unicodedata.unidata_version,
        "python_version": sys.version.split()[0],
        "word": ranges(lambda c: c.isalnum() or c == "_"),
        "digit": ranges(str.isdecimal),
        "space": ranges(str.isspace),
        "combining": ranges(lambda c: unicodedata.combining(c) != 0),
        "unassigned": ranges(lambda c: unicodedata.category(c) == "Cn"),
    }


def main() -> None:
    target = Path(__file__).with_name("unicode_tables.json")
    target.write_text(json.dumps(tables(), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
