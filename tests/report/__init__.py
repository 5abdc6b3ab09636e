"""python -m suite.report: statistics by hand, sections, outputs, the page in a browser."""
