"""Parse stage: wire-format article files into :class:`Article` records.

The seed format (as in the original TASS story) is blocks separated by blank lines::

    Title line
    Section and date line            (optional)
    Lead paragraph                   (optional)
    DATELINE. /AGENCY/. First body paragraph ...
    More body paragraphs ...
    Read more on the site →          (optional site boilerplate, dropped)

Only a title and a body are required; every other part is extracted when present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from artclf.errors import ArtclfError
from artclf.text import PARAGRAPH_BREAK, article_text

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_MONTH = r"(?P<month>[A-Z][a-z]{2,8})\.?"
_TIME = r"(?:,?\s+(?P<hour>\d{1,2}):(?P<minute>\d{2}))?"
# Date forms seen on news sites, each anchored at the end of the section/date line.
_DATE_PATTERNS = [
    re.compile(rf"{_MONTH}\s+(?P<day>\d{{1,2}}),\s+(?P<year>\d{{4}}){_TIME}\s*$"),
    re.compile(rf"(?P<day>\d{{1,2}})\s+{_MONTH}\s+(?P<year>\d{{4}}){_TIME}\s*$"),
    re.compile(r"(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})(?:[ T](?P<hour>\d{2}):(?P<minute>\d{2}))?\s*$"),
]

# A dateline opens the body: "MOSCOW, August 11. /TASS/. ", "TOKYO (Reuters) - ",
# "BRUSSELS, March 3 (AP) — ", "NAIROBI, Kenya — ", "NEW DELHI, Jan 9 (PTI) ".
_CITY = r"(?P<city>[A-Z][A-Z'’.\-]*(?:\s[A-Z][A-Z'’.\-]*){0,3})"
_DATELINE_PATTERNS = [
    re.compile(rf"^{_CITY},\s+(?P<date>[A-Z][a-z]+\.?\s+\d{{1,2}})\.\s+/(?P<agency>[^/\n]{{2,30}})/\.\s*"),
    re.compile(
        rf"^{_CITY}(?:,\s+(?P<region>[A-Z][A-Za-z.]+(?:\s[A-Z][A-Za-z.]+){{0,2}})(?=[,\s(—–-])(?!\.?\s*\d))?"
        rf"(?:,\s+(?P<date>[A-Z][a-z]+\.?\s+\d{{1,2}}))?"
        rf"(?:\s+\((?P<agency>[^)\n]{{2,30}})\))?\s*(?P<dash>-{{1,2}}|—|–|:)?\s+"
    ),
]

# Site furniture that trails scraped articles; never part of the story.
_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^read more( on (the|our) (site|website))?\b.*$",
        r"^(follow|subscribe to) (us|our)\b.*$",
        r"^(share|share this( article)?|advertisement)\s*:?\s*$",
        r"^reuter\s*$",
        r"^\(?(reporting|writing|editing|additional reporting) by\b.*$",
        r"^©.*$",
        r"^copyright\b.*$",
    )
]


# Capitalised words that open a paragraph like a dateline but are editorial labels.
_NOT_CITIES = {"NOTE", "NOTES", "UPDATE", "CORRECTION", "CORRECTED", "EDITOR", "EDITORS", "BREAKING", "FLASH",
               "URGENT", "ADVISORY", "WARNING", "Q", "A", "PHOTO", "VIDEO", "WATCH", "LIVE", "ANALYSIS", "OPINION"}


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    section: str | None = None
    published: str | None = None  # ISO 8601
    lead: str | None = None
    dateline: str | None = None  # the city
    agency: str | None = None

    @property
    def text(self) -> str:
        """What the models read: title, lead and body (dateline and site furniture removed)."""
        return article_text(self.title, self.body, lead=self.lead)


def parse_article(raw: str, article_id: str, source: str = "<text>") -> Article:
    """Parse one article's text; ``source`` names it in error messages."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    blocks = [_squash(b) for b in re.split(r"\n\s*\n", text)]
    blocks = [b for b in blocks if b]
    if not blocks:
        raise ArtclfError(f"{source}: empty article; add a title line and a body, or remove the file")
    while blocks and any(p.match(blocks[-1]) for p in _BOILERPLATE):
        blocks.pop()
    if not blocks:
        raise ArtclfError(f"{source}: holds only site boilerplate; add a title line and a body")

    first_lines = blocks[0].split("\n")
    title = first_lines[0].strip()
    rest = ["\n".join(first_lines[1:]).strip()] if len(first_lines) > 1 else []
    blocks = [b for b in rest if b] + blocks[1:]

    section = published = None
    if blocks:
        section, published = _section_and_date(blocks[0])
        if published is not None:
            blocks = blocks[1:]

    lead = city = agency = None
    for i, block in enumerate(blocks[:3]):
        match = _match_dateline(block)
        if match is None:
            continue
        city = _squash(match.group("city")).title()
        agency = match.group("agency")
        agency = agency.strip() if agency else None
        if i == 1:
            lead = blocks[0]
        elif i == 2:
            # Two blocks before the dateline: a short unpunctuated first block is a section line
            # without a date; otherwise it is a subtitle and both form the lead.
            if section is None and len(blocks[0]) <= 60 and not blocks[0].endswith((".", "!", "?", '"')):
                section, lead = blocks[0], blocks[1]
            else:
                lead = PARAGRAPH_BREAK.join(blocks[:2])
        blocks = [block[match.end():].strip()] + blocks[i + 1:]
        break

    body = PARAGRAPH_BREAK.join(b for b in blocks if b)
    if not title:
        raise ArtclfError(f"{source}: the first line (the title) is empty; put the title on line 1")
    if not body:
        raise ArtclfError(f"{source}: has a title but no body; add the article text after a blank line")
    return Article(
        id=article_id,
        title=title,
        body=body,
        section=section or None,
        published=published,
        lead=lead,
        dateline=city,
        agency=agency,
    )


def read_article(path: Path, encoding: str = "utf-8") -> Article:
    """Read and parse one ``.txt`` article file in ``encoding`` (``[data] encoding``); its id is
    the file stem."""
    return parse_article(read_text(path, encoding), path.stem, source=str(path))


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A text file's content; a file that is not valid ``encoding`` is one error naming the byte."""
    from train.data.labels import decode_error, text_codec

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtclfError(f"{path}: cannot read ({exc.strerror}); check the file's permissions") from None
    try:
        return data.decode(text_codec(encoding))
    except UnicodeDecodeError as exc:
        raise decode_error(path, data, exc, encoding) from None


def _squash(block: str) -> str:
    return "\n".join(line.strip() for line in block.strip().split("\n") if line.strip())


def _section_and_date(block: str) -> tuple[str | None, str | None]:
    if "\n" in block or len(block) > 120:
        return None, None
    for pattern in _DATE_PATTERNS:
        match = pattern.search(block)
        if match is None:
            continue
        when = _to_datetime(match)
        if when is None:
            continue
        section = block[: match.start()].strip(" ,|-—·")
        fmt = "%Y-%m-%dT%H:%M" if match.group("hour") else "%Y-%m-%d"
        return section or None, when.strftime(fmt)
    return None, None


def _to_datetime(match: re.Match[str]) -> datetime | None:
    groups = match.groupdict()
    if groups.get("mon"):
        month = int(groups["mon"])
    else:
        month = _MONTHS.get(groups["month"].lower(), 0)
    try:
        return datetime(
            int(groups["year"]),
            month,
            int(groups["day"]),
            int(groups.get("hour") or 0),
            int(groups.get("minute") or 0),
        )
    except ValueError:
        # An impossible date (February 30, month 13) is not a date line; keep the text.
        return None


def _match_dateline(block: str) -> re.Match[str] | None:
    for pattern in _DATELINE_PATTERNS:
        match = pattern.match(block)
        if match is None:
            continue
        # A bare capitalised word followed by a space is not a dateline: demand an agency, a date,
        # a region, or a dash after the city.
        if pattern is _DATELINE_PATTERNS[1] and not any(
            match.group(g) for g in ("agency", "date", "region", "dash")
        ):
            continue
        if len(match.group("city")) < 2 or match.group("city").strip(" .:") in _NOT_CITIES:
            continue
        return match
    return None
