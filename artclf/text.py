"""What the model reads from an article: one owner for the text layout.

An article is its title, lead and body joined by blank lines. Every path that turns an article
into model input (the dataset builder, the seed parser, the table and folder readers, the CLI's
``predict`` and the runtime) calls :func:`article_text`, and the short-view augmentation reads the
title and lead back with :func:`leading_paragraphs`, so the two can never disagree on the layout.
"""

from __future__ import annotations

import unicodedata

__all__ = ["PARAGRAPH_BREAK", "article_text", "is_blank", "leading_paragraphs"]

PARAGRAPH_BREAK = "\n\n"


def article_text(title: str | None = None, body: str = "", lead: str | None = None) -> str:
    """The text the model reads: title, lead and body, each non-empty part a paragraph.

    Parts are joined as given (not stripped): the seed parser already trims them, and the saved
    datasets' fingerprints depend on the exact text.
    """
    return PARAGRAPH_BREAK.join(part for part in (title, lead, body) if part)


def leading_paragraphs(text: str, n: int) -> str:
    """The first ``n`` non-empty paragraphs of a model text (``n=2``: the title and the lead)."""
    paragraphs = [p for p in text.split(PARAGRAPH_BREAK) if p.strip()]
    return PARAGRAPH_BREAK.join(paragraphs[:n])


def is_blank(text: str) -> bool:
    """Whether a text holds nothing to classify: empty, or only whitespace, control and invisible
    format characters (NUL, zero-width space, BOM, bidi marks). Such a text gets the explicit
    empty result, never a guess. Stops at the first visible character, so long texts cost nothing."""
    return all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)
