"""Writes on after-sales records: complaints, satisfaction call-backs, returns and exchanges.

Views, the API and the management commands call these functions; each
checks the current state and the actor's role and raises a ``DomainError``
that names the field and the value when it refuses.
"""

from .callbacks import record_callback, remind_due_callbacks, schedule_satisfaction_callbacks
from .complaints import (
    COMPLAINT_TRANSITIONS,
    allowed_complaint_actions,
    assess_adverse_event,
    change_complaint_status,
    create_complaint,
    escalate_overdue_complaints,
    flag_adverse_event,
    record_complaint_action,
    service_level_due_date,
    update_complaint,
)
from .returns import (
    RETURN_TRANSITIONS,
    allowed_return_actions,
    approve_return,
    cancel_return,
    create_return,
    receive_return,
    reject_return,
)
from .stock import QUARANTINE_WAREHOUSE_CODE, put_returned_goods, quarantine_warehouse

__all__ = [
    "COMPLAINT_TRANSITIONS",
    "QUARANTINE_WAREHOUSE_CODE",
    "RETURN_TRANSITIONS",
    "allowed_complaint_actions",
    "allowed_return_actions",
    "approve_return",
    "assess_adverse_event",
    "cancel_return",
    "change_complaint_status",
    "create_complaint",
    "create_return",
    "escalate_overdue_complaints",
    "flag_adverse_event",
    "put_returned_goods",
    "quarantine_warehouse",
    "receive_return",
    "record_callback",
    "record_complaint_action",
    "reject_return",
    "remind_due_callbacks",
    "schedule_satisfaction_callbacks",
    "service_level_due_date",
    "update_complaint",
]
