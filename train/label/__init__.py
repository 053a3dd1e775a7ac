"""Label stage: audit labels, pick what to label next, import labels, the terminal labeling session."""
