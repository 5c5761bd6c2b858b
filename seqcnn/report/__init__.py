"""Reports: the HTML page, its figures, and published figures beside what was measured."""
