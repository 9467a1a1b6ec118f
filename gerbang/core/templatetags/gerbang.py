from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def rupiah(amount: int | None) -> str:
    """Format integer rupiah the Indonesian way: Rp 1.000.000."""
    if amount is None:
        return ""
    return "Rp\u00a0" + f"{int(amount):,}".replace(",", ".")
