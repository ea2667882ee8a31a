"""Reads on customers, scoped to what the user may see."""

import datetime
import re
import unicodedata

from django.db.models import Prefetch, Q

from dentalsales.accounts.roles import Role
from dentalsales.accounts.selectors import owner_visibility
from dentalsales.core.pinyin import pinyin_full
from dentalsales.core.timeutils import local_today

from .models import Contact, Customer, Qualification, VerificationStatus

# Expiry radar thresholds in days; the reminder command sends one reminder per threshold.
EXPIRY_THRESHOLDS = (90, 60, 30)
# Names are typed with half-width or full-width brackets and punctuation
# alike, so a search tries both forms.
HALF_TO_FULL = str.maketrans("(),;:[]", "（），；：【】")
# Contact mobile numbers are searched only from this many digits on, so a
# short number such as a code fragment does not scan every contact.
MIN_MOBILE_DIGITS = 4


def visible_customers(user):
    return Customer.objects.filter(owner_visibility(user))


def contact_visibility(user, field="customer__owner"):
    """Return a Q for the contacts ``user`` may see: the owner's team (owner and supervisor), managers, administrators.

    Contacts are personal data, so logistics, finance and quality do not see
    them although they see every customer.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        return Q()
    if user.has_role(Role.SUPERVISOR):
        return Q(**{field: user}) | Q(**{f"{field}__team__supervisor": user})
    if user.has_role(Role.REPRESENTATIVE):
        return Q(**{field: user})
    return Q(pk__in=[])


def contact_customers(user):
    """Return the customers whose contacts ``user`` may see and change."""
    return Customer.objects.filter(contact_visibility(user, "owner"))


def visible_contacts(user):
    return Contact.objects.filter(contact_visibility(user)).select_related("customer")


def can_see_contacts(user, customer):
    """Tell whether ``user`` may see the contacts of ``customer``; the rule of ``contact_visibility``, without a query.

    ``customer.owner.team`` is read, so callers select it with the customer.
    """
    if not user.is_authenticated:
        return False
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        return True
    if customer.owner_id == user.pk and user.has_role(Role.SUPERVISOR, Role.REPRESENTATIVE):
        return True
    if user.has_role(Role.SUPERVISOR):
        team = customer.owner.team
        return team is not None and team.supervisor_id == user.pk
    return False


def customer_detail(user, pk):
    """Return the customer ``pk`` if ``user`` may see it, with what its page shows in one query; None otherwise.

    The owner with the team, the region, the business information and the
    pipeline record are joined, and ``crm.selectors.with_crm_summary`` adds
    the last visit and the open revisit plan.
    """
    from dentalsales.crm.selectors import with_crm_summary

    queryset = visible_customers(user).select_related("owner__team", "region", "business_profile", "prospect")
    return with_crm_summary(queryset).filter(pk=pk).first()


def can_export_contacts(user):
    """Tell whether ``user`` may put contacts into a bulk export (permission ``customers.export_contacts``)."""
    return user.is_authenticated and user.has_perm("customers.export_contacts")


def search_customers(queryset, text, user=None):
    """Filter by code, name, USCC, full pinyin, pinyin initials (``bjkq`` finds 北京…口腔) or contact mobile.

    A contact's mobile matches only among the contacts ``user`` may see, so
    that roles without contact access (and a call without ``user``) cannot
    learn which customer a mobile number belongs to.
    """
    text = (text or "").strip().lower()
    if not text:
        return queryset
    condition = Q(contact_phone__contains=text)
    half = unicodedata.normalize("NFKC", text)
    for variant in {text, half, half.translate(HALF_TO_FULL)}:
        condition |= Q(search_text__contains=variant)
    compact = pinyin_full(text)
    if compact and compact != text:
        condition |= Q(search_text__contains=compact)
    digits = re.sub(r"[\s-]", "", text)
    if digits.isdigit() and len(digits) >= MIN_MOBILE_DIGITS:
        if user is not None:
            contacts = Contact.objects.filter(contact_visibility(user), mobile__contains=digits)
            condition |= Q(pk__in=contacts.values("customer_id"))
    return queryset.filter(condition)


def customer_list(user, *, search="", customer_type="", category="", grade="", owner=None, region=None):
    queryset = visible_customers(user).select_related("owner", "region").prefetch_related(
        Prefetch("qualifications", queryset=Qualification.objects.order_by("kind"))
    )
    queryset = search_customers(queryset, search, user)
    if customer_type:
        queryset = queryset.filter(customer_type=customer_type)
    if category:
        queryset = queryset.filter(category=category)
    if grade:
        queryset = queryset.filter(grade=grade)
    if owner:
        queryset = queryset.filter(owner=owner)
    if region:
        queryset = queryset.filter(Q(region=region) | Q(region__parent=region) | Q(region__parent__parent=region))
    return queryset.order_by("code")


def verification_queue(user):
    """Return the qualifications waiting for the quality officer, oldest customer first."""
    return (
        Qualification.objects.filter(verification_status=VerificationStatus.PENDING, customer__in=visible_customers(user))
        .select_related("customer", "customer__owner")
        .prefetch_related("categories")
        .order_by("customer__code", "pk")
    )


def expiring_qualifications(user, *, within_days=90, day=None):
    """Return the visible qualifications that expired already or expire within ``within_days``, soonest first."""
    day = day or local_today()
    return (
        Qualification.objects.filter(
            customer__in=visible_customers(user),
            customer__is_active=True,
            valid_until__isnull=False,
            valid_until__lte=day + datetime.timedelta(days=within_days),
        )
        .exclude(verification_status=VerificationStatus.REJECTED)
        .select_related("customer", "customer__owner")
        .order_by("valid_until", "customer__code")
    )
