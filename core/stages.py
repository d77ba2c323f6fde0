"""The tip lifecycle: stages and the explicit table of legal moves.

Progress runs received → verified → classified → processed. The exits `duplicate`, `spam`
and `unfounded` close a tip; `referred` hands it to another agency, which continues the
clock from where the tip was (it cannot skip a stage the tip has not reached).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from core.errors import IllegalTransition


class Stage(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    CLASSIFIED = "classified"
    PROCESSED = "processed"
    REFERRED = "referred"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    UNFOUNDED = "unfounded"


#: Stages that measure progress, in order; the KPI reports one row for each.
PROGRESS: tuple[Stage, ...] = (
    Stage.RECEIVED,
    Stage.VERIFIED,
    Stage.CLASSIFIED,
    Stage.PROCESSED,
)

#: Stages after which nothing more happens to a tip.
TERMINAL: frozenset[Stage] = frozenset({Stage.PROCESSED, Stage.DUPLICATE, Stage.SPAM, Stage.UNFOUNDED})

#: Closing exits: the tip is not pursued, and stages it never reached are not counted
#: against the on-time share (a flood of spam must not hide or fake performance).
CLOSING_EXITS: frozenset[Stage] = frozenset({Stage.DUPLICATE, Stage.SPAM, Stage.UNFOUNDED})

#: The explicit transition table. `referred` may resume progress; see `allowed_moves`.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.RECEIVED: frozenset({Stage.VERIFIED, Stage.REFERRED, Stage.DUPLICATE, Stage.SPAM}),
    Stage.VERIFIED: frozenset(
        {Stage.CLASSIFIED, Stage.REFERRED, Stage.DUPLICATE, Stage.SPAM, Stage.UNFOUNDED}
    ),
    Stage.CLASSIFIED: frozenset({Stage.PROCESSED, Stage.REFERRED, Stage.DUPLICATE, Stage.UNFOUNDED}),
    Stage.REFERRED: frozenset(
        {
            Stage.VERIFIED,
            Stage.CLASSIFIED,
            Stage.PROCESSED,
            Stage.REFERRED,
            Stage.DUPLICATE,
            Stage.SPAM,
            Stage.UNFOUNDED,
        }
    ),
    Stage.PROCESSED: frozenset(),
    Stage.DUPLICATE: frozenset(),
    Stage.SPAM: frozenset(),
    Stage.UNFOUNDED: frozenset(),
}


def next_progress_stage(reached: Iterable[Stage]) -> Stage | None:
    """The first progress stage not yet reached, or None when all are."""
    done = set(reached)
    for stage in PROGRESS:
        if stage not in done:
            return stage
    return None


def allowed_moves(current: Stage, reached: Iterable[Stage]) -> frozenset[Stage]:
    """Legal targets from `current`, given the progress stages the tip already reached.

    From `referred` the receiving agency resumes at the next unreached progress stage only,
    so a referral can never be used to skip verification.
    """
    targets = TRANSITIONS[current]
    if current is not Stage.REFERRED:
        return targets
    resume = next_progress_stage(reached)
    return frozenset(t for t in targets if t not in PROGRESS or t == resume)


def check_transition(current: Stage, target: Stage, reached: Iterable[Stage]) -> None:
    """Raise IllegalTransition with a message a person can act on."""
    reached = tuple(reached)
    if target in allowed_moves(current, reached):
        return
    if current in TERMINAL:
        raise IllegalTransition(f"tip is {current.value}; a closed tip cannot move to {target.value}")
    if target == current:
        raise IllegalTransition(f"tip is already {current.value}")
    allowed = ", ".join(sorted(s.value for s in allowed_moves(current, reached))) or "none"
    raise IllegalTransition(f"cannot move a tip from {current.value} to {target.value}; allowed: {allowed}")
