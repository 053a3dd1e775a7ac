"""artclf: the runtime for apps (numpy-only scoring of portable model folders)."""

__all__: list[str] = []
