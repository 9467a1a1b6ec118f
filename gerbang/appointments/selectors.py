"""Read-only queries of the appointments module, shared by actions, pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Release, Slot


def release_slots(release: Release) -> QuerySet[Slot]:
    """The slots a release covers: its office's, on its days."""
    return Slot.objects.filter(office=release.office, day__gte=release.first_day, day__lte=release.last_day)


def release_capacity(release: Release) -> dict[str, dict[str, int]]:
    """Places still free per slot group of the release, split into the priority quota and the rest."""
    groups: dict[str, dict[str, int]] = {}
    for slot in release_slots(release).select_related("office"):
        group = groups.setdefault(slot.group, {"priority": 0, "general": 0})
        group["priority"] += slot.priority_capacity - slot.priority_booked
        group["general"] += slot.capacity - slot.priority_capacity - (slot.booked - slot.priority_booked)
    return groups
