"""Every slider of every static figure of the built site changes what is drawn.

For each figure with sliders on each page, each slider is moved through all of its steps, as a
reader would, with the other sliders first where the page puts them; if the drawn data never
change, the other sliders are set to each of their other combinations in turn and the slider is
moved again. A slider passes as soon as one setting of the others shows a change; it fails if
none does (a control that does nothing). Uses the fixtures of ``test_site.py``.
"""

from __future__ import annotations

import itertools

import pytest
from test_site import (  # noqa: F401 - fixtures are used by name
    FIGURE_PAGES,
    _figure_state,
    _move_slider,
    chromium,
    site_url,
    visit,
)

pytestmark = pytest.mark.browser


def _drawn(page, div_id: str) -> list:
    return _figure_state(page, div_id)["y"]


def _slider_changes_data(page, div_id: str, slider: int, steps: list[int]) -> bool:
    """Move ``slider`` through every step from where it is; whether any drawn value changed."""
    before = _drawn(page, div_id)
    for step in steps:
        _move_slider(page, div_id, slider, step)
        if _drawn(page, div_id) != before:
            return True
    return False


@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_every_slider_changes_the_drawn_data(visit, page):  # noqa: F811 - the fixture
    opened = visit(page)
    figures = opened.page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(gd => (gd.layout.sliders || []).length > 0)
        .map(gd => ({id: gd.id, counts: gd.layout.sliders.map(s => s.steps.length),
                     active: gd.layout.sliders.map(s => s.active || 0)}))""")
    for figure in figures:
        counts, start = figure["counts"], figure["active"]
        for slider, count in enumerate(counts):
            others = [index for index in range(len(counts)) if index != slider]
            # The page's own setting of the other sliders first, then every other combination.
            settings = [tuple(start[index] for index in others)]
            settings += [combination for combination in itertools.product(
                *[range(counts[index]) for index in others]) if combination != settings[0]]
            moved = False
            for combination in settings:
                for index, step in zip(others, combination, strict=True):
                    _move_slider(opened.page, figure["id"], index, step)
                if _slider_changes_data(opened.page, figure["id"], slider, list(range(count))):
                    moved = True
                    break
            assert moved, (f"{page}, {figure['id']}: slider {slider} changes nothing drawn, "
                           "for every setting of the other sliders")
