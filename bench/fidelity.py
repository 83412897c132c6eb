"""How faithfully the photo checks judge: compliant photos accepted, faults caught, and the margins.

    .venv/bin/python bench/fidelity.py [--faces DIR] [--no-simulated]

Three sets: the real-face development set (``../shared/faces``: every case labelled with its
verdict and the checks that must fail and must pass); faults made on its compliant frames for
measures it has no fault of (``appliance.simulation.photo_faults``: a 30 % stretch either way, a
flat photo, a green cast, a student off-centre either way, a student leaning 15 degrees either
way), with those compliant frames; and the simulated test set (the scene
simulator's clean students and each of its faults on its own, ``appliance.simulation.faults``).

Prints, per set: compliant photos accepted / total (false rejections by check), faults caught /
total (misses listed), the labels met, and per check and measured value the distribution over
compliant and faulty cases, the compliant and the faulty case nearest the limit, the gap between
them and where the limit sits in it; then those
distributions over every set together. Targets (issue 8): zero false rejections and zero misses
on the development set, each limit at least 10 % of the gap away from the nearest compliant and
the nearest faulty value.

The simulated student's hair covers her ears (the renderer cannot show them): her clean photos
expect no verdict of their own but must fail ``ears_visible`` and ``hair_clear`` (through it) and
pass every other check; the booth leaves them to the operator (verdict ``confirm``).

A compliant value for a check comes from a case where that check must pass (real faces: in
``must_pass``; simulated: a clean student); a faulty value from a case where it must fail, and only
for the measured values that are on the failing side of their limit there (a glare fault is no
data point for how dark tinted lenses are); a faulty case with none is a miss and listed as such.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.commands.check_photo import read_photo  # noqa: E402
from appliance.quality.checker import CheckReport, PhotoChecker  # noqa: E402
from appliance.quality.checks import CHECK_IDS  # noqa: E402
from appliance.quality.settings import QualitySettings  # noqa: E402
from appliance.simulation.faults import FAULTS, expected_failures  # noqa: E402
from appliance.simulation.photo_faults import PHOTO_FAULTS  # noqa: E402
from appliance.simulation.scene import render_scene  # noqa: E402

FACES = ROOT.parent / "shared" / "faces"
SIM_SIZE = (960, 1280)
SIM_CLEAN_SUBJECTS = range(6)
SIM_FAULT_SUBJECTS = (0, 1)
SIM_HAIR_OVER_EARS = {"ears_visible", "hair_clear"}  # what every simulated student shows
MIN_MARGIN = 0.10  # share of the gap the limit must keep from either side
# Checks whose limit bounds an angle either way (|value| <= limit): their values are compared and
# shown as sizes, so a head rolled -16 degrees counts as faulty as one rolled +14.
EITHER_WAY = {"head_pose", "head_pitch", "shoulders_level"}


@dataclass
class Case:
    name: str
    accepted: bool | None  # the expected verdict (None: none expected)
    must_fail: set[str]
    must_pass: set[str]
    report: CheckReport
    # Measured values that are compliant although their check must fail for another of its parts
    # (the simulated student's brows are clear; her hair_clear fails on her ears).
    compliant_parts: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Spread:
    compliant: list[tuple[float, str]] = field(default_factory=list)
    faulty: list[tuple[float, str]] = field(default_factory=list)


def real_cases(checker: PhotoChecker, folder: Path) -> list[Case]:
    """The labelled cases. A compliant photo is compliant in every check, so a check no label names
    (``head_pitch``) takes its compliant side from the compliant photos."""
    labels = json.loads((folder / "labels.json").read_text())
    named = {k for label in labels.values() for k in label["must_fail"] + label["must_pass"]}
    cases = []
    for name, label in labels.items():
        report = checker.check(read_photo(folder / "cases" / f"{name}.jpg"))
        unnamed = {(check_id, part) for check_id, result in report.checks.items() if check_id not in named
                   for part in _components(check_id, result.value, result.limit)} if label["accepted"] else set()
        cases.append(Case(name, label["accepted"], set(label["must_fail"]), set(label["must_pass"]), report, unnamed))
    return cases


def made_cases(checker: PhotoChecker, real: list[Case], folder: Path) -> list[Case]:
    """The compliant ``real`` cases (their values are the compliant side) and each of
    ``PHOTO_FAULTS`` made on them."""
    cases = [case for case in real if case.accepted is True]
    for case in list(cases):
        frame = read_photo(folder / "cases" / f"{case.name}.jpg")
        for name, fault in PHOTO_FAULTS.items():
            cases.append(Case(f"{name}_{case.name}", False, set(fault.must_fail), set(),
                              checker.check(fault.change(frame))))
    return cases


def simulated_cases(checker: PhotoChecker) -> list[Case]:
    cases = [Case(f"clean_s{s}", None, set(SIM_HAIR_OVER_EARS), set(CHECK_IDS) - SIM_HAIR_OVER_EARS,
                  checker.check(render_scene(s, frozenset(), SIM_SIZE)), {("hair_clear", "brows")})
             for s in SIM_CLEAN_SUBJECTS]
    for subject in SIM_FAULT_SUBJECTS:
        for fault in sorted(FAULTS):
            chosen = frozenset({fault})
            cases.append(Case(f"{fault}_s{subject}", False, set(expected_failures(chosen)), set(),
                              checker.check(render_scene(subject, chosen, SIM_SIZE))))
    return cases


def _components(check_id: str, value: object, limit: object) -> dict[str, tuple[float, object]]:
    """{component name: (value, its limit)} of the scalar parts of a check's value (sizes for
    EITHER_WAY checks)."""
    size = abs if check_id in EITHER_WAY else float
    if isinstance(value, dict) and isinstance(limit, dict):
        return {k: (size(float(v)), limit[k]) for k, v in value.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k in limit and math.isfinite(v)}
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return {"": (size(float(value)), limit)}
    return {}


def _fails(value: float, limit: object, compliant_side: float) -> bool:
    """Whether ``value`` is on the failing side of ``limit``: a (low, high) range, or a bound
    whose passing side is where the compliant values lie (``compliant_side``); when they lie on
    the bound itself (one face, 0 px outside the frame), any other value."""
    if isinstance(limit, (tuple, list)):
        return not limit[0] <= value <= limit[1]
    if compliant_side == limit:
        return value != limit
    return value < limit if compliant_side >= limit else value > limit


def spreads(cases: list[Case]) -> dict[tuple[str, str], tuple[object, Spread]]:
    found: dict[tuple[str, str], tuple[object, Spread]] = {}
    for case in cases:
        for check_id, result in case.report.checks.items():
            for part, (_value, limit) in _components(check_id, result.value, result.limit).items():
                if isinstance(limit, (int, float, tuple, list)):
                    found.setdefault((check_id, part), (limit, Spread()))
    for (check_id, part), (limit, spread) in found.items():
        for case in cases:
            result = case.report.checks.get(check_id)
            parts = _components(check_id, result.value, result.limit) if result else {}
            if part in parts and (check_id in case.must_pass or (check_id, part) in case.compliant_parts):
                spread.compliant.append((parts[part][0], case.name))
        middle = sorted(v for v, _ in spread.compliant)[len(spread.compliant) // 2] if spread.compliant else 0.0
        for case in cases:
            result = case.report.checks.get(check_id)
            parts = _components(check_id, result.value, result.limit) if result else {}
            if part in parts and check_id in case.must_fail and _fails(parts[part][0], limit, middle):
                spread.faulty.append((parts[part][0], case.name))
    return found


def _margin_line(check_id: str, part: str, limit: object, spread: Spread) -> str:
    name = f"{check_id}.{part}" if part else check_id
    name = f"|{name}|" if check_id in EITHER_WAY else name
    comp = sorted(spread.compliant)
    faulty = sorted(spread.faulty)
    text = f"  {name:34s} limit {_fmt(limit):>12s}  compliant "
    text += f"{comp[0][0]:.3g}..{comp[-1][0]:.3g} (n={len(comp)})" if comp else "- (n=0)"
    text += "  faulty " + (f"{faulty[0][0]:.3g}..{faulty[-1][0]:.3g} (n={len(faulty)})" if faulty else "- (n=0)")
    bounds = limit if isinstance(limit, (tuple, list)) else (limit,)
    nearest = [f"{side} {value:.3g} {case}" for side, found in (("compliant", comp), ("faulty", faulty)) if found
               for value, case in [min(found, key=lambda vc: min(abs(vc[0] - b) for b in bounds))]]
    text += f"  nearest the limit: {', '.join(nearest)}" if nearest else ""
    if not comp or not faulty:
        return text + "  gap: no faulty case on this measure" if comp else text
    if not isinstance(limit, (tuple, list)) and comp[0][0] == comp[-1][0] == limit:
        return text + "  exact: every compliant value is the limit, every faulty one differs (no gap to keep)"
    verdicts = []
    bounds = limit if isinstance(limit, (tuple, list)) else (limit,)
    for bound in bounds:
        below = [(v, n) for v, n in faulty if v < bound]
        above = [(v, n) for v, n in faulty if v > bound]
        side = below if (isinstance(limit, (tuple, list)) and bound == bounds[0]) or (
            not isinstance(limit, (tuple, list)) and comp[0][0] >= bound) else above
        if not side:
            continue
        near_faulty = max(side)[0] if side is below else min(side)[0]
        near_comp = comp[0][0] if side is below else comp[-1][0]
        gap = abs(near_comp - near_faulty)
        share = min(abs(bound - near_comp), abs(bound - near_faulty)) / gap if gap else 0.0
        ok = share >= MIN_MARGIN and (near_faulty < bound <= near_comp if side is below
                                      else near_comp <= bound < near_faulty)
        verdicts.append(f"gap {near_faulty:.3g}..{near_comp:.3g}, limit {share:.0%} of it from the nearer side "
                        f"{'OK' if ok else 'TOO CLOSE' if share > 0 else 'OVERLAP'}")
    return text + ("  " + "; ".join(verdicts) if verdicts else "")


def _fmt(limit: object) -> str:
    if isinstance(limit, (tuple, list)):
        return "[" + ", ".join(f"{v:g}" for v in limit) + "]"
    return f"{limit:g}"


def summarise(title: str, cases: list[Case]) -> None:
    print(f"\n== {title}: {len(cases)} cases")
    compliant = [c for c in cases if c.accepted is True]
    rejections: dict[str, list[str]] = defaultdict(list)
    for case in compliant:
        for result in case.report.failed():
            rejections[result.id].append(case.name)
    accepted = sum(c.report.accepted for c in compliant)
    print(f"compliant accepted: {accepted} / {len(compliant)}")
    for check_id, names in sorted(rejections.items()):
        print(f"  false rejection by {check_id}: {', '.join(names)}")
    open_cases = [c for c in cases if c.accepted is None]
    if open_cases:
        verdicts = defaultdict(list)
        for case in open_cases:
            verdicts[case.report.verdict].append(case.name)
        print(f"no verdict expected: {len(open_cases)} ("
              + ", ".join(f"{verdict}: {len(names)}" for verdict, names in sorted(verdicts.items())) + ")")
    refused = [c for c in cases if c.accepted is False]
    missed = [c.name for c in refused if c.report.accepted]
    print(f"faulty photos refused: {len(refused) - len(missed)} / {len(refused)}"
          + (f" (accepted: {', '.join(missed)})" if missed else ""))
    known = set(CHECK_IDS)
    wanted = [(c, k) for c in cases for k in sorted(c.must_fail) if k in known]
    misses = [f"{c.name}: {k}" for c, k in wanted if c.report.checks[k].passed]
    print(f"faults caught (must_fail labels): {len(wanted) - len(misses)} / {len(wanted)}")
    for miss in misses:
        print(f"  miss {miss}")
    unknown = sorted({k for c in cases for k in c.must_fail | c.must_pass if k not in known})
    if unknown:
        print(f"  not counted (no such check yet): {', '.join(unknown)}")
    wrong = [(c, k) for c in cases for k in sorted(c.must_pass) if k in known]
    named = defaultdict(list)
    for case, check_id in wrong:
        if not case.report.checks[check_id].passed:
            named[check_id].append(case.name)
    print(f"must_pass labels met: {len(wrong) - sum(map(len, named.values()))} / {len(wrong)}")
    for check_id, names in sorted(named.items()):
        print(f"  wrongly failed {check_id}: {', '.join(names)}")
    print_margins(cases)


def print_margins(cases: list[Case]) -> None:
    print("per check: value distributions (compliant = must pass, faulty = must fail and on the failing side)")
    for (check_id, part), (limit, spread) in sorted(spreads(cases).items(),
                                                     key=lambda kv: (CHECK_IDS.index(kv[0][0]), kv[0][1])):
        if spread.compliant or spread.faulty:
            print(_margin_line(check_id, part, limit, spread))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=FACES, help="the real-face development set")
    parser.add_argument("--no-simulated", action="store_true", help="only the real-face set")
    args = parser.parse_args()
    checker = PhotoChecker(QualitySettings())
    sets: list[list[Case]] = []
    if (args.faces / "labels.json").exists():
        real = real_cases(checker, args.faces)
        summarise(f"real-face development set ({args.faces.resolve()})", real)
        made = made_cases(checker, real, args.faces)
        summarise(f"its compliant frames and faults made on them ({', '.join(PHOTO_FAULTS)})", made)
        sets += [real, made]
    else:
        print(f"real-face development set absent ({args.faces.resolve()}): skipped")
    if not args.no_simulated:
        simulated = simulated_cases(checker)
        summarise("simulated test set", simulated)
        sets.append(simulated)
    if len(sets) > 1:
        # Each limit against the nearest compliant and faulty value of any set (the made set
        # repeats the real compliant frames, which changes no range).
        print("\n== every set together: the margins")
        print_margins([case for found in sets for case in found])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
