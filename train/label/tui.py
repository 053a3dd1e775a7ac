"""``artclf label``: the full-screen terminal around :class:`train.label.session.LabelSession`.

Built on prompt_toolkit (the terminal library under IPython and many REPLs: maintained since
2014, pure Python, one small dependency, key bindings and a redraw that is safe to trigger from
another thread). All the labeling logic is in ``session.py``; this module only draws and maps keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from artclf.errors import ArtclfError
from train.label.session import RESERVED, LabelSession

INSTALL_HINT = "prompt_toolkit is not installed; install the label tools with: pip install -e '.[label]'"


def _highlight(text: str, ngrams: list[str]) -> list[tuple[str, str]]:
    """Text fragments with the evidence n-grams marked (whole words, case-insensitive)."""
    words = sorted({g.split(":", 1)[-1] for g in ngrams if g and not g.startswith("char:")}, key=len, reverse=True)
    words = [w for w in words if w.strip()]
    if not words:
        return [("", text)]
    pattern = re.compile(r"\b(" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in words) + r")\b", re.IGNORECASE)
    out: list[tuple[str, str]] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(("", text[last:m.start()]))
        out.append(("class:evidence", m.group(0)))
        last = m.end()
    out.append(("", text[last:]))
    return out


def build_app(session: LabelSession) -> Any:
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import HSplit, Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.styles import Style

    scroll = {"offset": 0, "item": None}

    def header() -> list[tuple[str, str]]:
        v = session.view()
        if v.item is None:
            return [("class:header", f" all done: nothing left to label in {session.pool_name} "
                                     f"({v.labeled_this_session} labeled this session). q quits. ")]
        return [("class:header", f" {v.item.id}  ·  {v.remaining} to label  ·  {v.labeled_this_session} labeled this session"
                                 f"  ·  {v.status} ")]

    def body() -> list[tuple[str, str]]:
        v = session.view()
        if v.item is None:
            return [("", "")]
        if scroll["item"] != v.item.id:
            scroll.update(offset=0, item=v.item.id)
        ngrams = [g for grams in v.evidence.values() for g in grams]
        return [("class:title", v.item.title or v.item.id), ("", "\n\n")] + _highlight(v.item.text[len(v.item.title):].lstrip("\n") if v.item.title and v.item.text.startswith(v.item.title) else v.item.text, ngrams)

    def footer() -> list[tuple[str, str]]:
        v = session.view()
        p = v.prediction
        parts: list[tuple[str, str]] = []
        if p:
            scores = p.get("topic_scores", {})
            topics = ", ".join(f"{t} {scores.get(t, 0):.2f}" for t in p.get("topics", [])) or "no topic"
            tone = p.get("tone", "")
            parts.append(("class:model", f" model: {topics} / {tone} {p.get('tone_scores', {}).get(tone, 0):.2f}"
                                         f"   evidence highlighted\n"))
        parts.append(("", " topics: "))
        for key, topic in session.topic_keys.items():
            on = topic in session.draft
            parts.append(("class:on" if on else "", f"[{key}] {topic} {'[x]' if on else '[ ]'}  "))
        parts.append(("", "\n tone (saves): " + "  ".join(f"[{k}] {t}" for k, t in session.tone_keys.items())))
        parts.append(("", "\n [s] skip  [z] undo  [q] quit  (arrows, PgUp, PgDn scroll)\n"))
        parts.append(("class:message", f" {v.message}"))
        return parts

    kb = KeyBindings()

    def bind(key: str) -> None:
        @kb.add(key)
        def _(event: Any) -> None:
            if session.press(key) == "quit":
                event.app.exit()

    for key in [*session.topic_keys, *session.tone_keys, *RESERVED]:
        bind(key)

    @kb.add("c-c")
    def _(event: Any) -> None:
        session.save_state()
        event.app.exit()

    def scroller(delta: int) -> Any:
        def _(event: Any) -> None:
            scroll["offset"] = max(0, scroll["offset"] + delta)
        return _

    kb.add("down")(scroller(1))
    kb.add("up")(scroller(-1))
    kb.add("pagedown")(scroller(10))
    kb.add("pageup")(scroller(-10))

    text_window = Window(FormattedTextControl(body), wrap_lines=True, get_vertical_scroll=lambda w: scroll["offset"])
    layout = Layout(HSplit([
        Window(FormattedTextControl(header), height=1),
        text_window,
        Window(height=1, char="─"),
        Window(FormattedTextControl(footer), height=5, wrap_lines=True),
    ]))
    style = Style.from_dict({
        "header": "reverse", "title": "bold", "evidence": "bold underline ansiyellow",
        "on": "bold ansigreen", "model": "ansicyan", "message": "italic",
    })
    return Application(layout=layout, key_bindings=kb, full_screen=True, style=style, mouse_support=False)


def run_label_session(pool: Path, labels: Path, model_ref: str | None = "latest", models_dir: Path = Path("models"),
                      refit_every: int = 20, config_path: Path | None = None, annotator: str | None = None,
                      pool_format: str | None = None) -> LabelSession:
    """Open the pool and the labels file, then run the terminal session until the annotator quits."""
    try:
        import prompt_toolkit  # noqa: F401
    except ImportError:
        raise ArtclfError(INSTALL_HINT) from None
    from train.config import load_config
    from train.label.importer import _user
    from train.label.pool import read_pool

    config = load_config(config_path)
    items = read_pool(pool, pool_format, config)
    model = None
    if model_ref:
        from artclf.errors import ModelNotFoundError
        from train.store.load import load_model

        try:
            model = load_model(model_ref, models_dir)
        except ModelNotFoundError:
            if model_ref != "latest":
                raise
    topic_labels = model.topic_labels if model is not None else list(config.labels.topics)
    tone_labels = model.tone_labels if model is not None else list(config.labels.tone)
    session = LabelSession(items, labels, topic_labels, tone_labels, model=model, refit_every=refit_every,
                           refit=make_refit(config), annotator=annotator or _user(), pool_name=str(pool))
    app = build_app(session)
    session.on_change = app.invalidate
    app.run()
    session.save_state()
    return session


def make_refit(config: Any) -> Any:
    """A refit function: the config's gold labels (read once, in the background) plus the pool's
    new labels (a pool id overrides a base id), fitted as ``artclf train`` fits."""
    cache: dict[str, Any] = {}

    def refit(labeled: list[tuple[str, str, tuple[str, ...], str]]) -> Any:
        from train.data.dataset import is_gold, label_articles
        from train.label.refit import fit_in_memory

        if "base" not in cache:
            try:
                records, _ = label_articles(config)
                cache["base"] = {r.id: (r.text, r.topics, r.tone) for r in records if is_gold(r)}
            except ArtclfError:
                cache["base"] = {}
        rows = dict(cache["base"])
        rows.update({i: (text, topics, tone) for i, text, topics, tone in labeled})
        values = list(rows.values())
        return fit_in_memory([v[0] for v in values], [v[1] for v in values], [v[2] for v in values], config,
                             version=f"refit-{len(labeled)}")

    return refit
