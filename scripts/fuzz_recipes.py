"""A longer fuzz run of the recipe parser than the one in the test suite (issue 17 item 6).

Run:  PYTHONPATH=. .venv/bin/python scripts/fuzz_recipes.py [--examples 20000] [--seed N] [--timeout-s 2]

Three generators, the same as ``tests/chemistry/test_recipes_hostile.py`` but with a
larger budget and a random seed unless one is given:

* mappings (as parsed TOML) into ``parse_recipe`` and, when they parse, ``to_solution``;
* TOML-like text written to a file and read with ``load_recipe``;
* mutations of the shipped recipes (a byte changed, inserted or deleted; a number
  replaced by a huge, tiny, negative or non-finite one; a table nested deeper).

Every input must give a Recipe/Solution or an ``ephys_correct`` error naming the
file, within ``--timeout-s`` seconds.  A failure prints the input and the seed, and
the script exits 1.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ephys_correct.chemistry.recipes import load_recipe, parse_recipe  # noqa: E402
from ephys_correct.errors import EphysCorrectError  # noqa: E402

KEYS = ["name", "schema_version", "role", "ions_mm", "components_mm", "ph", "osmolality", "tags", "notes",
        "Na", "Cl", "K", "NaCl", "KCl", "HEPES", "KOH", "value", "temperature_c", "titrant", "buffer"]
NUMBERS = ["0", "-1", "1e308", "-1e308", "1.7976931348623157e308", "5e-324", "inf", "nan", "-inf",
           "9" * 30, "9" * 400, "0x7fffffffffffffff", "140", "7.3", "1_000"]


def _scalar(rng: random.Random):
    return rng.choice([
        lambda: rng.randint(-(10 ** rng.randint(1, 400)), 10 ** rng.randint(1, 400)),
        lambda: rng.choice([0.0, -0.0, 1e308, -1e308, float("inf"), float("nan"), 5e-324, rng.uniform(-1e3, 1e3)]),
        lambda: "".join(rng.choice("abc=+-@\x1b\n\t NaCl") for _ in range(rng.randint(0, 10))),
        lambda: rng.choice([True, False]),
    ])()


def _value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 6 or r < 0.5:
        return _scalar(rng)
    if r < 0.7:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _mapping(rng: random.Random) -> dict:
    d = {rng.choice(KEYS): _value(rng) for _ in range(rng.randint(0, 6))}
    if rng.random() < 0.5:
        d.update({"schema_version": 1, "name": "fuzz"})
    return d


def _mutate(rng: random.Random, text: str) -> str:
    op = rng.randrange(5)
    i = rng.randrange(len(text) + 1)
    if op == 0:
        return text[:i] + rng.choice('[]{}="\'\n#.,x9') + text[i:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        import re

        nums = list(re.finditer(r"(?<![\w.])\d+(\.\d+)?", text))
        if nums:
            m = rng.choice(nums)
            return text[:m.start()] + rng.choice(NUMBERS) + text[m.end():]
        return text
    if op == 3:
        n = rng.randint(1, 3000)
        return text + "\ntags = " + "[" * n + "]" * n + "\n"
    return text.replace("[ions_mm]", "[ions_mm.deeper.still]", 1)


def _check(fn, label: str, payload, timeout_s: float) -> str | None:
    t0 = time.perf_counter()
    try:
        fn()
    except EphysCorrectError as exc:
        if label != "mapping" and "fuzz.toml" not in str(exc):
            return f"error does not name the file: {exc}"
    except Exception:  # noqa: BLE001 - what the fuzzer looks for
        return traceback.format_exc(limit=3)
    if time.perf_counter() - t0 > timeout_s:
        return f"took {time.perf_counter() - t0:.2f} s"
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--timeout-s", type=float, default=2.0)
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    rng = random.Random(seed)
    shipped = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "solutions_db").glob("*.toml"))]
    failures = 0
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.toml"
        for n in range(args.examples):
            kind = n % 3
            if kind == 0:
                data = _mapping(rng)

                def fn(data=data):
                    rec = parse_recipe(data, path="fuzz.toml")
                    rec.to_solution()
                problem = _check(fn, "mapping", data, args.timeout_s)
                payload = repr(data)[:500]
            else:
                text = _mutate(rng, rng.choice(shipped)) if kind == 1 or rng.random() < 0.5 else \
                    "".join(rng.choice('[]{}="\'.,#=\n abcNaCl019e+-_') for _ in range(rng.randint(0, 120)))
                path.write_text(text, encoding="utf-8")
                problem = _check(lambda: load_recipe(path).to_solution(), "file", text, args.timeout_s)
                payload = text[:500]
            if problem:
                failures += 1
                print(f"--- failure (seed {seed}, example {n}):\n{payload}\n{problem}", file=sys.stderr)
    took = time.perf_counter() - t_start
    print(f"fuzz_recipes: {args.examples} inputs, seed {seed}, {failures} failures, {took:.1f} s "
          f"({1e3 * took / max(args.examples, 1):.2f} ms per input)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
