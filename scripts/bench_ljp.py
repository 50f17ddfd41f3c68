"""Benchmark of the LJP kernels (ephys_correct.potentials.ljp, ephys_correct.potentials._nernst_planck).

Run:  .venv/bin/python scripts/bench_ljp.py [--pairs 1000] [--seed 0]
                                            [--baseline-np FILE]

What it counts is what a user's run counts: public calls with the inputs a
user passes, every Nernst-Planck pair distinct and solved once (cold: the LJP
result cache is never hit), wall clock (``perf_counter``) next to the thread's
CPU time (``thread_time``, which excludes pre-emption by other processes).
Nothing is judged against a fixed wall time: speed is reported as ratios to
baselines timed in the same run, interleaved pair by pair (min/median/max of
the per-pair ratios), so a busy machine slows both sides.

Populations and baselines
-------------------------
* ``--pairs`` distinct random junctions: 2-8 ions of the ion table with
  |z| <= 2, both kinds of charge on each side, 1-300 mM (log-uniform), each
  side made electroneutral by scaling cations by sqrt(Q-/Q+) and anions by
  sqrt(Q+/Q-); some ions (1 in 6) are absent on one side.
* Henderson: ``henderson_mv`` called with plain lists for one pair, against
  ``plain_numpy_henderson`` (the same formula as a user would write it in
  numpy, no checks), interleaved on the same pairs; and ``henderson_mv`` on
  ``--vector-pairs`` pairs in one call against the same plain formula.
* Nernst-Planck: ``nernst_planck_mv`` per pair (median, p95, worst, number
  converged), as a ratio to the plain-numpy Henderson call on the same pair
  (a machine-speed unit), and, with ``--baseline-np FILE``, to another
  ``_nernst_planck.py`` (e.g. the previous implementation, see
  docs/performance.md) loaded from FILE and run on the same pairs, interleaved.
* ``liquid_junction_potential`` (mappings in, LJPResult with provenance out,
  method="nernst-planck" and "henderson"): cold calls on distinct pairs.
* Start-up: a fresh interpreter importing ``ephys_correct.potentials.ljp`` and solving
  one NP junction, against a fresh interpreter importing numpy only
  (subprocesses, PYTHONDONTWRITEBYTECODE unset so that bytecode is cached as
  in a user's environment; the first run of each is discarded).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ephys_correct.potentials import ljp as ljp_module
from ephys_correct._constants import thermal_voltage_mv
from ephys_correct.errors import EphysCorrectError
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.potentials.ljp import henderson_mv, liquid_junction_potential, nernst_planck_mv

T_C = 20.0


# --------------------------------------------------------------------------- population
def random_pairs(n_pairs: int, seed: int):
    """Distinct random electroneutral pairs: (names, z, u, cp, cs) with 2-8 ions."""
    table = load_ion_table()
    names_all = sorted(n for n in table if abs(table[n].charge) <= 2)
    z_all = np.array([table[n].charge for n in names_all])
    u_all = np.array([table[n].relative_mobility for n in names_all])
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n_pairs:
        n = int(rng.integers(2, 9))
        idx = rng.choice(len(names_all), size=n, replace=False)
        z = z_all[idx]
        if not ((z > 0).any() and (z < 0).any()):
            continue
        sides = []
        for side in range(2):
            c = np.exp(rng.uniform(0.0, math.log(300.0), n))
            absent = rng.random(n) < 1 / 6
            if side == 1:
                absent &= sides[0] > 0  # never absent on both sides
            c[absent] = 0.0
            pos = z > 0
            qp, qn = float(c[pos] @ z[pos]), float(-(c[~pos] @ z[~pos]))
            if qp == 0 or qn == 0:
                break
            sides.append(np.where(pos, c * math.sqrt(qn / qp), c * math.sqrt(qp / qn)))
        if len(sides) < 2:
            continue
        key = (tuple(idx), tuple(np.round(sides[0], 9)), tuple(np.round(sides[1], 9)))
        if key in seen:
            continue
        seen.add(key)
        out.append(([names_all[i] for i in idx], z, u_all[idx], sides[0], sides[1]))
    return out


# --------------------------------------------------------------------------- baselines
def plain_numpy_henderson(cp, cs, z, u, vt):
    """Generalized Henderson as a user would write it in numpy (no checks, no limits)."""
    cp = np.asarray(cp, float)
    cs = np.asarray(cs, float)
    z = np.asarray(z, float)
    u = np.asarray(u, float)
    zu = z * u
    z2u = z * zu
    d = cs - cp
    return vt * (d @ zu) / (d @ z2u) * np.log((cp @ z2u) / (cs @ z2u))


def load_kernel(path: str):
    """Load another _nernst_planck.py as ephys_correct.potentials._bench_baseline_np (same package)."""
    spec = importlib.util.spec_from_file_location("ephys_correct.potentials._bench_baseline_np", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "ephys_correct"
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


# --------------------------------------------------------------------------- helpers
def clock(fn):
    """(result, wall s, thread CPU s) of one call."""
    c0 = time.thread_time()
    t0 = time.perf_counter()
    r = fn()
    t1 = time.perf_counter()
    return r, t1 - t0, time.thread_time() - c0


def stats(x, scale=1e3, unit="ms", digits=3):
    x = np.asarray(x) * scale
    return (f"median {np.median(x):.{digits}f} {unit}, p95 {np.percentile(x, 95):.{digits}f}, "
            f"worst {x.max():.{digits}f}")


def ratio_line(r):
    r = np.asarray(r)
    return f"min {r.min():.3g}, median {np.median(r):.3g}, max {r.max():.3g}"


def best_of(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, time.perf_counter_ns() - t0)
    return best * 1e-9


def startup(code: str) -> float:
    """Wall time of a fresh interpreter running *code* (bytecode cached as for a user)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-np", metavar="FILE",
                    help="another _nernst_planck.py to time on the same pairs, interleaved")
    ap.add_argument("--repeat", type=int, default=3,
                    help="calls per pair (the first is reported alone, and the best of all)")
    ap.add_argument("--startup-repeat", type=int, default=5)
    ap.add_argument("--slowest", type=int, default=10,
                    help="re-time this many of the slowest NP pairs (best of 7)")
    ap.add_argument("--vector-pairs", type=int, default=200_000,
                    help="pairs per call of the vectorized Henderson comparison")
    args = ap.parse_args(argv)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    print(f"machine: {platform.machine()} {platform.processor()}, {os.cpu_count()} CPUs, load "
          f"average {tuple(round(x, 2) for x in load)}; Python {sys.version.split()[0]}, numpy "
          f"{np.__version__}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"package: {Path(ljp_module.__file__).parent}")
    vt = thermal_voltage_mv(T_C)
    pairs = random_pairs(args.pairs, args.seed)
    n_ions = [len(p[0]) for p in pairs]
    print(f"\n{len(pairs)} distinct pairs, {min(n_ions)}-{max(n_ions)} ions (mean "
          f"{np.mean(n_ions):.1f}), |z| <= 2, 1-300 mM, {T_C:g} degC")
    base_np = load_kernel(args.baseline_np) if args.baseline_np else None

    # warm-up: imports and per-process index caches (not results)
    w = pairs[0]
    nernst_planck_mv(w[3], w[4], w[1], w[2], temperature_c=T_C)
    henderson_mv(w[3].tolist(), w[4].tolist(), w[1].tolist(), w[2].tolist(), temperature_c=T_C)
    plain_numpy_henderson(w[3], w[4], w[1], w[2], vt)
    if base_np:
        base_np.solve_nernst_planck(w[3], w[4], w[1], w[2], tol=1e-4 / vt, contributions=False)
    axo = (["K+", "Na+", "Cl-", "gluconate-", "Mg2+", "Ca2+", "HEPES-"],
           [145, 13, 10, 145, 1, 0, 5], [2.8, 145, 148.8, 0, 2, 1, 5])  # not in the population
    for method in ("nernst-planck", "henderson"):
        liquid_junction_potential(dict(zip(axo[0], axo[1])), dict(zip(axo[0], axo[2])),
                                  temperature_c=T_C, method=method, free_ions=False)

    # ---- scalar Henderson vs plain numpy, interleaved (order alternates per pair)
    h_ratio, h_ours, h_plain, h_diff = [], [], [], []
    for k, (_n, z, u, cp, cs) in enumerate(pairs):
        lists = (cp.tolist(), cs.tolist(), z.tolist(), u.tolist())
        ours = lambda: henderson_mv(*lists, temperature_c=T_C)  # noqa: E731
        plain = lambda: plain_numpy_henderson(*lists, vt)  # noqa: E731
        if k % 2:
            tp, to = best_of(plain, 5), best_of(ours, 5)
        else:
            to, tp = best_of(ours, 5), best_of(plain, 5)
        h_ours.append(to)
        h_plain.append(tp)
        h_ratio.append(to / tp)
        a, b = float(ours()), float(plain())
        if math.isfinite(b):  # the plain formula is 0/0 for equal conductivities
            h_diff.append(abs(a - b))
    print("\nHenderson, one pair from plain lists (best of 5 calls per pair):")
    print(f"  henderson_mv          {stats(h_ours, 1e6, 'us', 1)}")
    print(f"  plain numpy formula   {stats(h_plain, 1e6, 'us', 1)}")
    print(f"  ratio ours/plain      {ratio_line(h_ratio)}   (max |difference| "
          f"{max(h_diff):.1e} mV)")

    # ---- Henderson, vectorized: many pairs in one call vs the same formula in plain numpy
    nv = args.vector_pairs
    rng = np.random.default_rng(args.seed + 1)
    zv = np.array([1, 1, 1, 2, 2, -1, -1, -1, -2, -1])
    uv = np.array([1.0, 0.682, 0.33, 0.405, 0.361, 1.038, 0.33, 0.30, 0.15, 0.60])
    cpv = rng.uniform(1.0, 150.0, size=(nv, zv.size))
    csv = rng.uniform(1.0, 150.0, size=(nv, zv.size))
    for c in (cpv, csv):  # neutralize every row
        pos = zv > 0
        qp, qn = c[:, pos] @ zv[pos], -(c[:, ~pos] @ zv[~pos])
        c[:, pos] *= np.sqrt(qn / qp)[:, None]
        c[:, ~pos] *= np.sqrt(qp / qn)[:, None]
    vr, to_l, tp_l = [], [], []
    for rep in range(5):
        if rep % 2:
            tp, to = (best_of(lambda: plain_numpy_henderson(cpv, csv, zv, uv, vt), 1),
                      best_of(lambda: henderson_mv(cpv, csv, zv, uv, temperature_c=T_C), 1))
        else:
            to, tp = (best_of(lambda: henderson_mv(cpv, csv, zv, uv, temperature_c=T_C), 1),
                      best_of(lambda: plain_numpy_henderson(cpv, csv, zv, uv, vt), 1))
        vr.append(to / tp)
        to_l.append(to)
        tp_l.append(tp)
    print(f"\nHenderson, vectorized: {nv:,} pairs x {zv.size} ions per call (5 calls each, "
          f"interleaved): henderson_mv {nv / min(to_l):,.0f} pairs/s (with its checks), plain "
          f"numpy formula {nv / min(tp_l):,.0f} pairs/s; ratio ours/plain {ratio_line(vr)}")

    # ---- Nernst-Planck: every pair solved --repeat times (no result cache exists in
    # nernst_planck_mv: each call is a full solve), interleaved with the baselines
    R = args.repeat
    first_wall, first_cpu, best_wall, unit_ratio, base_ratio, base_diff = [], [], [], [], [], []
    failures = []
    for k, (_n, z, u, cp, cs) in enumerate(pairs):
        lists = (cp.tolist(), cs.tolist(), z.tolist(), u.tolist())
        ours = lambda: nernst_planck_mv(cp, cs, z, u, temperature_c=T_C)  # noqa: E731
        base = (lambda: base_np.solve_nernst_planck(  # noqa: E731
            cp, cs, z, u, tol=1e-4 / vt, contributions=False)) if base_np else None
        tp = best_of(lambda: plain_numpy_henderson(*lists, vt), 3)
        tw_all, tb_all = [], []
        try:
            for rep in range(R):
                if base and rep % 2 == k % 2:
                    sol, tb, _ = clock(base)
                    tb_all.append(tb)
                v, tw, tc = clock(ours)
                tw_all.append(tw)
                if rep == 0:
                    first_wall.append(tw)
                    first_cpu.append(tc)
                if base and rep % 2 != k % 2:
                    sol, tb, _ = clock(base)
                    tb_all.append(tb)
        except EphysCorrectError as exc:
            failures.append((k, f"{type(exc).__name__}: {exc}"))
            continue
        best_wall.append(min(tw_all))
        unit_ratio.append(min(tw_all) / tp)
        if base:
            base_ratio.append(min(tw_all) / min(tb_all))
            base_diff.append(abs(sol.phi * vt - v))
    conv = len(pairs) - len(failures)
    print(f"\nNernst-Planck via nernst_planck_mv (array API): {conv}/{len(pairs)} converged")
    print(f"  first call per pair, wall clock   {stats(first_wall)}")
    print(f"  first call per pair, thread CPU   {stats(first_cpu)}")
    print(f"  best of {R} calls per pair, wall   {stats(best_wall)}")
    print(f"  ratio (best of {R}) to one plain-numpy Henderson call on the same pair: "
          f"{ratio_line(unit_ratio)}")
    if base_np:
        print(f"  baseline {args.baseline_np} (its solve_nernst_planck, no validation), same pairs"
              f" interleaved: max |difference| {max(base_diff):.1e} mV; ratio ours/baseline "
              f"(best of {R} each): {ratio_line(base_ratio)}")
    for k, msg in failures[:5]:
        print(f"  NOT CONVERGED pair {k}: {msg}")
    # the slowest pairs again, best of 7: separates slow pairs from pre-empted calls
    ok = [k for k in range(len(pairs)) if k not in {f for f, _ in failures}]
    slow = [ok[i] for i in np.argsort(best_wall)[::-1][: args.slowest]]
    again, again_base = [], []
    for k in slow:
        _n, z, u, cp, cs = pairs[k]
        again.append(best_of(lambda: nernst_planck_mv(cp, cs, z, u, temperature_c=T_C), 7))
        if base_np:
            again_base.append(best_of(lambda: base_np.solve_nernst_planck(
                cp, cs, z, u, tol=1e-4 / vt, contributions=False), 7))
    if slow:
        line = (f"  the {len(slow)} slowest pairs again, best of 7: "
                f"{min(again) * 1e3:.3f}-{max(again) * 1e3:.3f} ms")
        if base_np:
            line += (f"; baseline {min(again_base) * 1e3:.3f}-{max(again_base) * 1e3:.3f} ms, "
                     f"ratio {ratio_line(np.array(again) / np.array(again_base))}")
        print(line)

    # ---- public call, cold: distinct compositions and the result cache cleared before each call
    for method in ("nernst-planck", "henderson"):
        first_l, tc_l, best_l, ratio_l = [], [], [], []
        for names, z, u, cp, cs in pairs[: min(len(pairs), 300)]:
            pip = {n: float(c) for n, c in zip(names, cp) if c > 0}
            bath = {n: float(c) for n, c in zip(names, cs) if c > 0}
            tp = best_of(lambda: plain_numpy_henderson(cp, cs, z, u, vt), 3)
            tw_all = []
            for rep in range(R):
                ljp_module._RESULT_CACHE.clear()
                _r, tw, tc = clock(lambda: liquid_junction_potential(
                    pip, bath, temperature_c=T_C, method=method, free_ions=False))
                tw_all.append(tw)
                if rep == 0:
                    first_l.append(tw)
                    tc_l.append(tc)
            best_l.append(min(tw_all))
            ratio_l.append(min(tw_all) / tp)
        print(f"\nliquid_junction_potential(mapping, mapping, method={method!r}), cold ("
              f"{len(first_l)} distinct pairs, result cache cleared before each call):")
        print(f"  first call per pair, wall clock   {stats(first_l)}")
        print(f"  first call per pair, thread CPU   {stats(tc_l)}")
        print(f"  best of {R} calls per pair, wall   {stats(best_l)}")
        print(f"  ratio (best of {R}) to one plain-numpy Henderson call: {ratio_line(ratio_l)}")

    # ---- start-up in a fresh interpreter
    if args.startup_repeat > 0:
        first_np = ("import numpy as np\nfrom ephys_correct.potentials.ljp import nernst_planck_mv\n"
                    "nernst_planck_mv([145, 13, 10, 145, 1, 0, 5], [2.8, 145, 148.8, 0, 2, 1, 5],"
                    " [1, 1, -1, -1, 2, 2, -1], [1.0, 0.682, 1.038, 0.33, 0.361, 0.405, 0.3],"
                    " temperature_c=20)\n")
        startup("import numpy")  # first runs may write bytecode: not counted
        startup(first_np)
        ours, base = [], []
        for _ in range(args.startup_repeat):
            base.append(startup("import numpy"))
            ours.append(startup(first_np))
        r = [a / b for a, b in zip(ours, base)]
        print(f"\nstart-up, fresh interpreter: import ephys_correct.ljp + first NP solve "
              f"{stats(ours, 1e3, 'ms', 0)}; import numpy alone {stats(base, 1e3, 'ms', 0)}; "
              f"ratio {ratio_line(r)}")

    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
