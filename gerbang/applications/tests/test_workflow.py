"""The workflow table itself: every status reachable from a draft, every action guarded by someone."""

from __future__ import annotations

from gerbang.access.permissions import Perm
from gerbang.applications.models import Status
from gerbang.applications.workflow import AFTER_PAYMENT_ONLY, APPLICANT, BEFORE_PAYMENT_ONLY, SYSTEM, TRANSITIONS


def test_every_status_is_reachable_from_a_draft() -> None:
    reached = {Status.DRAFT.value}
    frontier = [Status.DRAFT.value]
    while frontier:
        status = frontier.pop()
        for (source, _action), (target, _who) in TRANSITIONS.items():
            if source == status and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(Status.values)


def test_every_action_names_who_may_take_it_and_only_payment_comes_from_the_system() -> None:
    for (status, action), (_target, who) in TRANSITIONS.items():
        assert who in (APPLICANT, SYSTEM) or isinstance(who, Perm), (status, action)
        assert (who == SYSTEM) == (action == "pay"), (status, action)
    # Withdrawn is final; the payment guards name real actions.
    assert not [key for key in TRANSITIONS if key[0] == Status.WITHDRAWN]
    actions = {action for _status, action in TRANSITIONS}
    assert actions >= BEFORE_PAYMENT_ONLY and actions >= AFTER_PAYMENT_ONLY
