"""tools/prose_words.py counts prose and nothing else (a hand-counted document)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("prose_words", ROOT / "tools" / "prose_words.py")
prose_words = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prose_words)

DOCUMENT = """---
jupytext:
  format_name: myst
---

(ch-x)=
# One two

Three four $x^2 + y$ five {doc}`six <05_iterative_bound>`.

```{code-cell} ipython3
:tags: [remove-cell]
not counted at all
```

$$
a + b = c
$$

| not | counted |
|---|---|

````{prf:theorem} Seven eight
:label: thm-x

Nine ten.
````
"""


def test_counts_only_prose():
    # "One two" / "Three four five six" / "Seven eight" / "Nine ten" = 2 + 4 + 2 + 2.
    assert prose_words.count_words(DOCUMENT) == 10


def test_every_chapter_has_prose():
    for path in sorted((ROOT / "book").glob("0*.md")):
        assert prose_words.count_words(path.read_text(encoding="utf-8")) > 500, path.name
