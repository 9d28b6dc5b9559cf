"""Count the words of prose in the book's chapters.

Prose is what a reader reads as running text: the front matter, code cells, display math
(``$$ ... $$`` and ``{math}`` blocks), tables, comments, labels and directive options are left
out, and so is inline math (``$...$``) and the target of a role (``{doc}`ch5 <05_x>``` counts
"ch5"). Directive bodies (theorems, exercises, admonitions) are prose and count.

    python tools/prose_words.py                 # every chapter in book/*.md
    python tools/prose_words.py book/05_*.md    # some chapters
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{[^}]*\})?")
_OPTION = re.compile(r"^:[\w-]+:")
_ROLE_WITH_TEXT = re.compile(r"\{[\w:-]+\}`([^`<]*?)\s*(<[^>]*>)?`")
_INLINE_MATH = re.compile(r"\$[^$]+\$")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def prose_lines(text: str) -> list[str]:
    """The lines of a MyST notebook that are prose (see the module docstring)."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":  # jupytext front matter
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        lines = lines[end + 1:]
    kept: list[str] = []
    skip_until: list[str] = []  # closing fences of blocks whose body is not prose
    in_math = False
    after_directive = False
    for line in lines:
        stripped = line.strip()
        if in_math:
            in_math = not stripped.endswith("$$")
            continue
        if skip_until:
            if stripped == skip_until[-1]:
                skip_until.pop()
            continue
        fence = _FENCE.match(stripped)
        if fence:
            marker, directive = fence.group(1), fence.group(2) or ""
            if stripped == marker:  # a closing fence of a prose directive
                after_directive = False
                continue
            if directive in ("", "{code-cell}", "{math}", "{code-block}", "{code}",
                             "{bibliography}", "{glossary}", "{list-table}", "{raw}"):
                skip_until.append(marker)
            else:
                after_directive = True
                title = stripped[fence.end():]
                kept.append(title)
            continue
        if after_directive and _OPTION.match(stripped):
            continue
        after_directive = False
        if stripped.startswith("$$"):
            if not (len(stripped) > 2 and stripped.endswith("$$")):
                in_math = True
            continue
        if stripped.startswith(("|", "+++", "<!--", "(")) and (
                not stripped.startswith("(") or stripped.endswith(")=")):
            continue
        kept.append(line)
    return kept


def count_words(text: str) -> int:
    """Words of prose in one chapter's source."""
    words = 0
    for line in prose_lines(text):
        line = _ROLE_WITH_TEXT.sub(lambda match: match.group(1), line)
        line = _INLINE_MATH.sub(" ", line)
        words += len(_WORD.findall(line))
    return words


def main(paths: list[str]) -> int:
    files = [Path(p) for p in paths] or sorted((ROOT / "book").glob("*.md"))
    files = [f for f in files if f.name != "references.md"]
    total = 0
    print(f"{'chapter':<40} {'prose words':>11}")
    for path in files:
        words = count_words(path.read_text(encoding="utf-8"))
        total += words
        print(f"{path.name:<40} {words:>11}")
    print(f"{'total':<40} {total:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
