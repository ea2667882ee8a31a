from django import template
from django.utils.html import format_html

from dentalsales.core.timeutils import remaining_shelf_life_days

from ..selectors import can_view_radar, radar_counts

register = template.Library()


@register.simple_tag
def days_left(day, today):
    """Show the days from ``today`` until ``day``; a negative number, in red, means the day has passed."""
    days = remaining_shelf_life_days(day, today)
    if days < 0:
        return format_html('<span class="text-danger fw-semibold">{}</span>', days)
    return days


@register.inclusion_tag("quality/_dashboard_radar.html", takes_context=True)
def expiry_radar_cards(context):
    """Render the expiry radar's counts for roles that watch expiry (two queries); nothing for others."""
    user = context["request"].user
    return {"counts": radar_counts() if can_view_radar(user) else None}
