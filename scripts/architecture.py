"""Print, check or write the architecture contract block of docs/dev/architecture.md.

    python scripts/architecture.py            # print the block
    python scripts/architecture.py --write    # rewrite the block in docs/dev/architecture.md

The contract itself is data in tests/architecture.py; tests/test_architecture.py enforces it
on the import graph and checks that the docs carry this block unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from architecture import render_contract  # noqa: E402

BEGIN = "<!-- contract:begin (scripts/architecture.py --write) -->"
END = "<!-- contract:end -->"


def main(argv: list[str]) -> int:
    block = render_contract()
    if "--write" not in argv:
        print(block, end="")
        return 0
    doc_path = ROOT / "docs" / "dev" / "architecture.md"
    doc = doc_path.read_text(encoding="utf-8")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc_path.write_text(f"{head}{BEGIN}\n{block}{END}{tail}", encoding="utf-8")
    print(f"wrote the contract block of {doc_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
