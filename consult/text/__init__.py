"""Text handling: sanitizing (the only place that imports bleach) and Markdown."""
