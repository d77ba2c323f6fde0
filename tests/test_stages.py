"""The transition table: every pair of stages is either legal or refused with a message."""

from __future__ import annotations

import itertools

import pytest

from core.errors import IllegalTransition
from core.stages import PROGRESS, Stage, allowed_moves, check_transition

LEGAL = {
    (Stage.RECEIVED, Stage.VERIFIED),
    (Stage.RECEIVED, Stage.REFERRED),
    (Stage.RECEIVED, Stage.DUPLICATE),
    (Stage.RECEIVED, Stage.SPAM),
    (Stage.VERIFIED, Stage.CLASSIFIED),
    (Stage.VERIFIED, Stage.REFERRED),
    (Stage.VERIFIED, Stage.DUPLICATE),
    (Stage.VERIFIED, Stage.SPAM),
    (Stage.VERIFIED, Stage.UNFOUNDED),
    (Stage.CLASSIFIED, Stage.PROCESSED),
    (Stage.CLASSIFIED, Stage.REFERRED),
    (Stage.CLASSIFIED, Stage.DUPLICATE),
    (Stage.CLASSIFIED, Stage.UNFOUNDED),
}

# What a tip at each stage has reached, for the table above.
REACHED = {
    Stage.RECEIVED: (Stage.RECEIVED,),
    Stage.VERIFIED: (Stage.RECEIVED, Stage.VERIFIED),
    Stage.CLASSIFIED: (Stage.RECEIVED, Stage.VERIFIED, Stage.CLASSIFIED),
    Stage.PROCESSED: PROGRESS,
    Stage.DUPLICATE: (Stage.RECEIVED,),
    Stage.SPAM: (Stage.RECEIVED,),
    Stage.UNFOUNDED: (Stage.RECEIVED, Stage.VERIFIED),
}


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a, b in itertools.product(Stage, Stage) if a is not Stage.REFERRED],
    ids=lambda s: s.value,
)
def test_every_move_from_a_non_referred_stage(current: Stage, target: Stage) -> None:
    if (current, target) in LEGAL:
        check_transition(current, target, REACHED[current])
    else:
        with pytest.raises(IllegalTransition) as err:
            check_transition(current, target, REACHED[current])
        assert current.value in str(err.value)


@pytest.mark.parametrize(
    ("reached", "resume"),
    [
        ((Stage.RECEIVED,), Stage.VERIFIED),
        ((Stage.RECEIVED, Stage.VERIFIED), Stage.CLASSIFIED),
        ((Stage.RECEIVED, Stage.VERIFIED, Stage.CLASSIFIED), Stage.PROCESSED),
    ],
)
def test_referred_resumes_at_the_next_unreached_stage_only(reached: tuple[Stage, ...], resume: Stage) -> None:
    moves = allowed_moves(Stage.REFERRED, reached)
    assert moves & set(PROGRESS) == {resume}
    assert {Stage.REFERRED, Stage.DUPLICATE, Stage.SPAM, Stage.UNFOUNDED} <= moves
    for skipped in set(PROGRESS) - {resume}:
        with pytest.raises(IllegalTransition):
            check_transition(Stage.REFERRED, skipped, reached)


def test_messages_say_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition, match="already verified"):
        check_transition(Stage.VERIFIED, Stage.VERIFIED, REACHED[Stage.VERIFIED])
    with pytest.raises(IllegalTransition, match="closed tip"):
        check_transition(Stage.SPAM, Stage.VERIFIED, REACHED[Stage.SPAM])
    with pytest.raises(IllegalTransition, match=r"allowed: .*verified"):
        check_transition(Stage.RECEIVED, Stage.PROCESSED, REACHED[Stage.RECEIVED])
