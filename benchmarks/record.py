"""What the benchmark scripts share: a description of the machine, and writing a measured block
into ``benchmarks/README.md`` between its start and end markers (so that re-measuring replaces
the old numbers instead of adding to them)."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def machine() -> str:
    """CPU, cores, memory, OS and the versions that decide the timings, in one line."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"MemTotal:\s*(\d+) kB", meminfo.read_text())
        memory = f"{int(match.group(1)) / 1024**2:.1f} GB" if match else memory
    import jax
    import jupyter_book
    import numpy
    import plotly

    return (f"{os.cpu_count()} cores ({cpu}), {memory} RAM, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, JAX {jax.__version__}, "
            f"NumPy {numpy.__version__}, jupyter-book {jupyter_book.__version__}, "
            f"plotly {plotly.__version__}")


def write_block(name: str, heading: str, text: str, readme: Path = README) -> None:
    """Replace the block ``<!-- name:start -->`` ... ``<!-- name:end -->`` of the README by
    ``text``; where there is none yet, append it under a new section ``## heading``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}\n{end}"
    content = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if start in content:
        content = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, content,
                         flags=re.S)
    else:
        content = content.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    readme.write_text(content)
