"""Dates in the business time zone (Asia/Shanghai).

Every "today" that decides expiry, shelf life, due dates or the day in a
document number comes from here, so a server running in UTC still changes
day at midnight in China.
"""

import datetime

from django.utils import timezone


def local_now():
    return timezone.localtime(timezone.now())


def local_today():
    return local_now().date()


def is_expired(expiry_date, today=None):
    """Tell whether a lot has expired: it stays valid through the end of its expiry date."""
    today = today or local_today()
    return expiry_date < today


def remaining_shelf_life_days(expiry_date, today=None):
    """Return the days from today until the expiry date; 0 on the expiry date itself."""
    today = today or local_today()
    return (expiry_date - today).days


def earliest_acceptable_expiry(min_shelf_life_days, today=None):
    """Return the earliest expiry date a customer requiring ``min_shelf_life_days`` accepts."""
    today = today or local_today()
    return today + datetime.timedelta(days=max(int(min_shelf_life_days or 0), 0))
