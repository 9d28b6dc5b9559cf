"""Static Plotly figures of the book, built at book-build time from the kit's numbers.

Plotting lives here and only here: the numeric modules (policies, instances, dynamics, metrics,
theory, bounds, experiments) never import plotly.
"""
