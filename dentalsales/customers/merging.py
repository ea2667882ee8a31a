"""Find duplicate customers and merge one into another.

The merge moves every row that points at the duplicate through a foreign
key, found with ``Customer._meta.related_objects`` so that apps added later
are covered without changes here. A one-to-one row moves only when the kept
customer has none. The duplicate stays, deactivated, so history and old
documents still resolve.
"""

import logging
import re
import unicodedata
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.core.pinyin import build_search_text

from .models import Customer, CustomerMerge, GradeChange

logger = logging.getLogger(__name__)

MERGE_ROLES = frozenset({Role.MANAGER})
# Relations that describe the merge or the duplicate's own past and stay with it.
KEPT_WITH_DUPLICATE = {CustomerMerge, GradeChange}
# Kept customer fields filled from the duplicate when empty.
FILLABLE_FIELDS = ("uscc", "region", "address", "contact_name", "contact_phone")
LEGAL_FORM_SUFFIXES = ("有限责任公司", "股份有限公司", "有限公司", "公司")


def normalize_name(name):
    """Return a customer name reduced for duplicate detection: NFKC, no spaces, punctuation or legal-form suffix."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    text = re.sub(r"[\s()（）\[\]【】·.,，。、_\-]", "", text)
    for suffix in LEGAL_FORM_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
            break
    return text


def duplicate_groups(queryset=None):
    """Return lists of active customers that share a USCC or a normalized name, each list ordered by code."""
    queryset = (queryset if queryset is not None else Customer.objects.all()).filter(is_active=True)
    by_key = defaultdict(list)
    for pk, code, name, uscc in queryset.values_list("pk", "code", "name", "uscc"):
        if uscc:
            by_key[("uscc", uscc)].append(pk)
        by_key[("name", normalize_name(name))].append(pk)
    groups = []
    seen = set()
    for key, pks in by_key.items():
        members = tuple(sorted(set(pks)))
        if len(members) > 1 and members not in seen:
            seen.add(members)
            groups.append((key[0], members))
    customers = Customer.objects.select_related("owner").in_bulk({pk for _kind, pks in groups for pk in pks})
    result = [
        {"reason": kind, "customers": sorted((customers[pk] for pk in pks), key=lambda customer: customer.code)}
        for kind, pks in groups
    ]
    return sorted(result, key=lambda group: group["customers"][0].code)


def _reverse_relations():
    for relation in Customer._meta.related_objects:
        if relation.related_model in KEPT_WITH_DUPLICATE or relation.many_to_many:
            continue
        yield relation


def merge_preview(kept, duplicate):
    """Return {"app.Model.field": row count} of the rows that a merge would move from ``duplicate``."""
    counts = {}
    for relation in _reverse_relations():
        manager = relation.related_model._base_manager
        count = manager.filter(**{relation.field.name: duplicate}).count()
        if count:
            counts[_label(relation)] = count
    return counts


def merge_preview_rows(kept, duplicate):
    """Return the merge preview as rows of {"label", "count"} for the screen, in the user's language.

    The label is the model's plural name, such as 销售订单; a model that
    points at the customer through more than one field adds the field's
    name, so that its rows stay apart.
    """
    relations = {_label(relation): relation for relation in _reverse_relations()}
    counts = merge_preview(kept, duplicate)
    models_seen = [relation.related_model for relation in relations.values()]
    rows = []
    for key, count in counts.items():
        relation = relations[key]
        label = capfirst(relation.related_model._meta.verbose_name_plural)
        if models_seen.count(relation.related_model) > 1:
            label = _("%(records)s (%(field)s)") % {"records": label, "field": relation.field.verbose_name}
        rows.append({"label": str(label), "count": count})
    return sorted(rows, key=lambda row: row["label"])


def _label(relation):
    return f"{relation.related_model._meta.label}.{relation.field.name}"


def merge_refusal(kept, duplicate):
    """Return why ``duplicate`` cannot be merged into ``kept`` (the same customer, or one inactive), or ""."""
    if kept.pk == duplicate.pk:
        return _("Customer %(code)s cannot be merged into itself; choose two different customers.") % {"code": kept.code}
    for customer in (duplicate, kept):
        if not customer.is_active:
            return _("Customer %(code)s is inactive, perhaps merged already.") % {"code": customer.code}
    return ""


def _merge_revisit_plans(kept, duplicate):
    """Keep one open revisit plan for ``kept``: the earlier due of the two; cancel the duplicate's other one.

    A customer has at most one open plan, so the duplicate's open plan
    cannot move when the kept customer has its own.
    """
    from dentalsales.crm.models import RevisitPlan, RevisitStatus

    kept_plan = RevisitPlan.objects.select_for_update().filter(customer=kept, status=RevisitStatus.OPEN).first()
    duplicate_plan = RevisitPlan.objects.select_for_update().filter(customer=duplicate, status=RevisitStatus.OPEN).first()
    if kept_plan is None or duplicate_plan is None:
        return
    if duplicate_plan.due_on < kept_plan.due_on:
        kept_plan.due_on = duplicate_plan.due_on
        kept_plan.save(update_fields=["due_on"])
    duplicate_plan.status = RevisitStatus.CANCELLED
    duplicate_plan.save(update_fields=["status"])


@transaction.atomic
def merge_customers(*, actor, kept, duplicate, reason):
    """Move everything of ``duplicate`` to ``kept``, deactivate the duplicate and return the ``CustomerMerge``.

    Only a manager may merge. Rows that cannot move because the kept
    customer already has its own (a one-to-one row or a unique constraint)
    stay with the duplicate and are listed under ``not_moved``.
    """
    from dentalsales.notifications.services import notify

    if not actor.has_role(*MERGE_ROLES):
        raise NotPermitted(_("Only a manager can merge customers."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why these customers are duplicates."), field="reason")
    if kept.pk == duplicate.pk:
        raise InvalidInput(merge_refusal(kept, duplicate), code="same_customer")
    locked = Customer.objects.select_for_update().in_bulk([kept.pk, duplicate.pk])
    kept, duplicate = locked.get(kept.pk), locked.get(duplicate.pk)
    if kept is None or duplicate is None:
        raise InvalidInput(_("Customer not found."), code="not_found")
    refusal = merge_refusal(kept, duplicate)
    if refusal:
        raise InvalidInput(refusal, code="inactive")
    _merge_revisit_plans(kept, duplicate)

    moved = {}
    not_moved = {}
    for relation in _reverse_relations():
        manager = relation.related_model._base_manager
        field = relation.field.name
        rows = manager.filter(**{field: duplicate})
        if relation.one_to_one and manager.filter(**{field: kept}).exists():
            if rows.exists():
                not_moved[_label(relation)] = rows.count()
            continue
        try:
            with transaction.atomic():
                count = rows.update(**{field: kept})
        except IntegrityError:
            not_moved[_label(relation)] = rows.count()
            continue
        if count:
            moved[_label(relation)] = count

    filled = []
    for name in FILLABLE_FIELDS:
        if not getattr(kept, name) and getattr(duplicate, name):
            setattr(kept, name, getattr(duplicate, name))
            filled.append(name)
    if "uscc" in filled:
        kept.uscc_override_reason = duplicate.uscc_override_reason
    duplicate_uscc = duplicate.uscc
    # The USCC is unique among customers, so the duplicate gives it up.
    duplicate.uscc = ""
    duplicate.uscc_override_reason = ""
    duplicate.is_active = False
    duplicate.save()
    kept.search_text = build_search_text(kept.code, kept.name, kept.uscc)
    kept.save()

    merge = CustomerMerge.objects.create(
        kept=kept,
        merged=duplicate,
        merged_code=duplicate.code,
        merged_name=duplicate.name,
        moved={"moved": moved, "not_moved": not_moved, "filled": filled, "uscc": duplicate_uscc},
        reason=reason,
        merged_by=actor,
    )
    owners = {kept.owner, duplicate.owner}
    notify(
        owners,
        title=_("%(duplicate)s was merged into %(kept)s") % {"duplicate": duplicate, "kept": kept},
        body=reason,
        link=kept.get_absolute_url(),
        category="customer_merge",
    )
    logger.info("Customer %s merged into %s by user %s: %s", duplicate.pk, kept.pk, actor.pk, moved)
    return merge
