"""Writes of customer development: one module per use-case group, re-exported here."""

from .activities import (
    REVISIT_KINDS,
    amend_activity,
    create_activity,
    interval_days_for,
    plan_revisits,
    send_revisit_reminders,
    submit_activity,
    update_activity,
)
from .exports import log_export
from .gifts import (
    approve_gift,
    create_gift,
    delete_gift,
    gift_needs_approval,
    mark_gift_given,
    reject_gift,
    request_gift_approval,
    update_gift,
)
from .prospects import (
    change_prospect_stage,
    convert_prospect,
    create_prospect,
    follow_category_change,
    mark_won_on_first_approval,
    open_prospect,
)

__all__ = [
    "REVISIT_KINDS",
    "amend_activity",
    "approve_gift",
    "change_prospect_stage",
    "convert_prospect",
    "create_activity",
    "create_gift",
    "create_prospect",
    "delete_gift",
    "follow_category_change",
    "gift_needs_approval",
    "interval_days_for",
    "log_export",
    "mark_gift_given",
    "mark_won_on_first_approval",
    "open_prospect",
    "plan_revisits",
    "reject_gift",
    "request_gift_approval",
    "send_revisit_reminders",
    "submit_activity",
    "update_activity",
    "update_gift",
]
