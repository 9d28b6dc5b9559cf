"""The site's page-assets extension (tools/page_assets.py), on its own (the built pages are
checked in tests/test_site.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from page_assets import name_summaries  # noqa: E402

# The theme's markup for a section with sub-pages (pydata_sphinx_theme.toctree).
SIDEBAR = ('<li class="toctree-l1 has-children"><a class="reference internal" '
           'href="appendix/kit_reference.html">Appendix: the kit &amp; its API</a>'
           '<details><summary><span class="toctree-toggle" role="presentation">'
           '<i class="fa-solid fa-chevron-down"></i></span></summary><ul>...</ul></details></li>')


def test_each_collapsible_section_is_named_after_its_link():
    named = name_summaries(SIDEBAR)
    assert ('<summary aria-label="Show or hide the pages of Appendix: the kit &amp; its API">'
            in named)
    assert named.replace(' aria-label="Show or hide the pages of Appendix: the kit &amp; its '
                         'API"', "") == SIDEBAR


def test_a_summary_without_a_link_before_it_gets_a_generic_name():
    bare = ('<details><summary><span class="toctree-toggle" role="presentation"></span>'
            '</summary></details>')
    assert '<summary aria-label="Show or hide this section">' in name_summaries(bare)


def test_summaries_with_text_are_left_alone():
    captioned = '<details><summary><p class="caption">Part I</p></summary></details>'
    assert name_summaries(captioned) == captioned
