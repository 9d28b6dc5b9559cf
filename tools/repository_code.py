"""Sphinx extension: code blocks that name the book's repository without writing its address.

``repository.url`` in ``_config.yml`` is the one place that names the repository (the publishing
workflow overrides it with the repository it runs in), and ``tools/page_assets.py`` offers it to
pages as the MyST substitutions ``{{ repository_url }}`` and ``{{ binder_url }}``. MyST does not
substitute inside code blocks, so a command or a citation that contains the address is written
with this directive, whose content may use the same substitutions::

    ```{repository-code} bash
    git clone {{ repository_url }}
    ```

The result is an ordinary highlighted code block. A name that is not a substitution is an error
that names it, so a misspelt placeholder cannot reach the page.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: A placeholder: ``{{ name }}``, spaces optional.
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def substitute(text: str, substitutions: dict[str, object]) -> str:
    """``text`` with every ``{{ name }}`` replaced by ``substitutions[name]`` (KeyError naming
    the first unknown name)."""
    unknown = [name for name in PLACEHOLDER.findall(text) if name not in substitutions]
    if unknown:
        raise KeyError(f"unknown substitution {unknown[0]!r}; known: {sorted(substitutions)}")
    return PLACEHOLDER.sub(lambda match: str(substitutions[match.group(1)]), text)


class RepositoryCode(SphinxDirective):
    """``{repository-code} language``: a code block whose placeholders are substituted."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        try:
            text = substitute("\n".join(self.content), dict(self.config.myst_substitutions or {}))
        except KeyError as error:
            raise self.error(f"repository-code: {error.args[0]}") from None
        block = nodes.literal_block(text, text, language=self.arguments[0])
        self.set_source_info(block)
        return [block]


def setup(app: Sphinx) -> dict:
    app.add_directive("repository-code", RepositoryCode)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
