"""The faults the simulated scene can show, and which quality check each one must fail.

One table shared by the renderer, the test-set builder and the tests, so a fault name and its
expected check id cannot drift apart. Each fault is made to break exactly one CHSI rule; the
check ids are those of ``appliance.quality`` (issue 4).
"""

from __future__ import annotations

from collections.abc import Iterable

# fault -> the check ids that must fail on a scene showing only that fault.
FAULT_CHECKS: dict[str, frozenset[str]] = {
    "other_background": frozenset({"background"}),
    "shadow": frozenset({"background"}),
    "blur": frozenset({"sharpness"}),
    "rotation": frozenset({"head_pose"}),
    "dark_glasses": frozenset({"eyes_visible"}),
    "two_people": frozenset({"face_count"}),
    "too_small": frozenset({"face_size"}),
    "overexposed": frozenset({"exposure"}),
    "underexposed": frozenset({"exposure"}),
    # A black-and-white photo cannot show the reference blue either.
    "greyscale": frozenset({"colour", "background"}),
    "blue_clothes": frozenset({"clothing_contrast"}),
    "tilted_shoulders": frozenset({"shoulders_level"}),
    "hair_over_eyes": frozenset({"hair_clear"}),
    "eyes_closed": frozenset({"eyes_open"}),
    "mouth_open": frozenset({"mouth_closed"}),
    "uneven_lighting": frozenset({"lighting"}),
    "off_centre": frozenset({"framing"}),
}

FAULTS: frozenset[str] = frozenset(FAULT_CHECKS)


def check_faults(faults: Iterable[str]) -> frozenset[str]:
    """The faults as a frozenset; an unknown name raises ValueError listing the known ones."""
    chosen = frozenset(faults)
    unknown = chosen - FAULTS
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(FAULTS))}")
    return chosen


def expected_failures(faults: Iterable[str]) -> frozenset[str]:
    """The check ids a scene with ``faults`` must fail (empty for a clean scene)."""
    failing: set[str] = set()
    for fault in check_faults(faults):
        failing |= FAULT_CHECKS[fault]
    return frozenset(failing)
