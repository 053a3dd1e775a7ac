"""Training-data augmentation: extra views of each training article with the same labels.

An augmenter is a callable ``text -> view | None`` (None: no view for this article), in the
spirit of spaCy's augmenters handed to the corpus reader. The fit stage asks
:func:`make_augmenters` for the ones a config's ``[augment]`` section switches on and calls
:func:`augment`, which returns the rows plus a group index per row (its original article), so
folds keep an article and its views together and the vectorizer learns its vocabulary from the
originals only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from artclf.text import leading_paragraphs

if TYPE_CHECKING:
    from train.config import AugmentConfig

__all__ = ["Augmenter", "augment", "make_augmenters", "short_view"]

Augmenter = Callable[[str], "str | None"]


def short_view(text: str) -> str | None:
    """The article's title and lead (its first two paragraphs), or None when that is all of it."""
    view = leading_paragraphs(text, 2)
    return view if view != text else None


def make_augmenters(config: "AugmentConfig") -> list[Augmenter]:
    """The augmenters a config switches on, in a fixed order."""
    return [short_view] if config.short_views else []


def augment(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], augmenters: Sequence[Augmenter]
) -> tuple[list[str], list[Sequence[str]], list[str], list[int]]:
    """Originals followed by each augmenter's views, with the originals' labels; the last list
    maps every row to its original article (for grouped folds)."""
    out_texts, out_topics, out_tones = list(texts), list(topic_sets), list(tones)
    groups = list(range(len(out_texts)))
    for augmenter in augmenters:
        for i, text in enumerate(texts):
            view = augmenter(text)
            if view is not None:
                out_texts.append(view)
                out_topics.append(topic_sets[i])
                out_tones.append(tones[i])
                groups.append(i)
    return out_texts, out_topics, out_tones, groups
