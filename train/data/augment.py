"""Training-data augmentation: extra views of each training article with the same labels.

An augmenter is a callable ``text -> view | None`` (None: no view for this article), in the
spirit of spaCy's augmenters handed to the corpus reader. The fit stage asks
:func:`make_augmenters` for the ones a config's ``[augment]`` section switches on and calls
:func:`augment`, which returns the rows plus a group index per row (its original article), so
folds keep an article and its views together and the vectorizer learns its vocabulary from the
originals only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Sequence

from artclf.text import PARAGRAPH_BREAK, leading_paragraphs

if TYPE_CHECKING:
    from train.config import AugmentConfig

__all__ = ["Augmenter", "INPUT_VIEWS", "augment", "headline_view", "input_view", "lead_view", "make_augmenters", "short_view"]

Augmenter = Callable[[str], "str | None"]


def short_view(text: str) -> str | None:
    """The article's title and lead (its first two paragraphs), or None when that is all of it."""
    view = leading_paragraphs(text, 2)
    return view if view != text else None


def headline_view(text: str) -> str | None:
    """The article's title alone (its first paragraph), or None when that is all of it."""
    view = leading_paragraphs(text, 1)
    return view if view != text else None


# A paragraph break inside a body: a blank line, or a new line that starts indented (Reuters'
# wire copy indents each paragraph instead of leaving a blank line).
_PARAGRAPH = re.compile(r"\n\s*\n|\n[ \t]+")


def lead_view(text: str) -> str:
    """The title and the body's first paragraph, as an app that shows a headline and a teaser
    would send them. Unlike :func:`short_view` (the training view, which reads the model layout's
    second paragraph), a body whose paragraphs are only indented is cut at the first indent."""
    paragraphs = [p for p in text.split(PARAGRAPH_BREAK) if p.strip()]
    if len(paragraphs) < 2:
        return text
    body = PARAGRAPH_BREAK.join(paragraphs[1:]).strip()
    first = _PARAGRAPH.split(body, maxsplit=1)[0].strip()
    return PARAGRAPH_BREAK.join([paragraphs[0], first])


# How much of an article an input holds, as `real_dev` and `evaluate` compare them.
INPUT_VIEWS = ("full", "lead", "headline")


def input_view(text: str, view: str) -> str:
    """``text`` cut to one of :data:`INPUT_VIEWS`: the whole article, title + first paragraph, title."""
    if view == "full":
        return text
    if view == "lead":
        return lead_view(text)
    if view == "headline":
        return leading_paragraphs(text, 1)
    raise ValueError(f"unknown input view {view!r}; expected one of {', '.join(INPUT_VIEWS)}")


def make_augmenters(config: "AugmentConfig") -> list[Augmenter]:
    """The augmenters a config switches on, in a fixed order."""
    out: list[Augmenter] = []
    if config.short_views:
        out.append(short_view)
    if getattr(config, "headline_views", False):
        out.append(headline_view)
    return out


def augment(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], augmenters: Sequence[Augmenter]
) -> tuple[list[str], list[Sequence[str]], list[str], list[int]]:
    """Originals followed by each augmenter's views, with the originals' labels; the last list
    maps every row to its original article (for grouped folds)."""
    out_texts, out_topics, out_tones, groups, _ = augment_with_sources(texts, topic_sets, tones, augmenters)
    return out_texts, out_topics, out_tones, groups


# Views that train the topic head only: a title alone says little about an article's overall
# tone (training tone on title views cost 0.04 tone accuracy on the seed test split).
TOPIC_ONLY: tuple[Augmenter, ...] = (headline_view,)


def augment_with_sources(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], augmenters: Sequence[Augmenter]
) -> tuple[list[str], list[Sequence[str]], list[str], list[int], list[bool]]:
    """As :func:`augment`, plus per row whether it may train the tone head (originals and views
    not in :data:`TOPIC_ONLY`)."""
    out_texts, out_topics, out_tones = list(texts), list(topic_sets), list(tones)
    groups = list(range(len(out_texts)))
    for_tone = [True] * len(out_texts)
    for augmenter in augmenters:
        for i, text in enumerate(texts):
            view = augmenter(text)
            if view is not None:
                out_texts.append(view)
                out_topics.append(topic_sets[i])
                out_tones.append(tones[i])
                groups.append(i)
                for_tone.append(augmenter not in TOPIC_ONLY)
    return out_texts, out_topics, out_tones, groups, for_tone
