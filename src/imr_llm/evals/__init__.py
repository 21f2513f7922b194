"""Evaluation: gold records, a field-by-field scorer, and reports."""
