"""Writes on customers and their qualifications."""

import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import SALES_ROLES, Role
from dentalsales.accounts.selectors import assignable_owners
from dentalsales.core.errors import InvalidInput, NotPermitted, clean_model
from dentalsales.core.pinyin import build_search_text
from dentalsales.core.services import next_document_number
from dentalsales.core.validators import normalize_uscc, uscc_problem

from .models import Customer, Qualification
from .selectors import visible_customers

logger = logging.getLogger(__name__)

# The credit limit and payment terms decide how much a customer may owe,
# so representatives cannot set them for their own customers.
CREDIT_FIELDS = ("credit_limit", "payment_terms_days")
CREDIT_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.ADMINISTRATOR})
# Qualifications decide whether orders can be approved, so after creation
# only the quality side changes them.
QUALIFICATION_ROLES = frozenset({Role.QUALITY_OFFICER, Role.MANAGER, Role.ADMINISTRATOR})

CUSTOMER_FIELDS = (
    "name",
    "customer_type",
    "category",
    "grade",
    "region",
    "address",
    "contact_name",
    "contact_phone",
    "credit_limit",
    "payment_terms_days",
    "min_shelf_life_days",
    "uscc",
    "uscc_override_reason",
    "is_active",
)


def _check_uscc(customer):
    customer.uscc = normalize_uscc(customer.uscc)
    if not customer.uscc:
        customer.uscc_override_reason = ""
        return
    problem = uscc_problem(customer.uscc)
    if problem == "shape":
        raise InvalidInput(
            _("“%(value)s” is not a unified social credit code: it needs 18 digits or capital letters (no I, O, S, V or Z).")
            % {"value": customer.uscc},
            field="uscc",
        )
    if problem == "check" and not customer.uscc_override_reason.strip():
        raise InvalidInput(
            _(
                "The check character of unified social credit code “%(value)s” is wrong. "
                "Correct the code, or give the reason for accepting it (some early codes fail the check)."
            )
            % {"value": customer.uscc},
            field="uscc",
        )
    if problem is None:
        customer.uscc_override_reason = ""


def _check_uscc_unique(customer):
    if not customer.uscc:
        return
    other = Customer.objects.filter(uscc=customer.uscc).exclude(pk=customer.pk).first()
    if other is not None:
        raise InvalidInput(
            _("Unified social credit code “%(value)s” is already registered for customer %(code)s.")
            % {"value": customer.uscc, "code": other.code},
            field="uscc",
        )


def _check_grade(customer):
    if customer.category == "potential":
        customer.grade = None
    elif not customer.grade:
        customer.grade = None


def _check_owner(customer, actor):
    if customer.owner_id is None:
        customer.owner = actor
    if not assignable_owners(actor).filter(pk=customer.owner_id).exists():
        raise InvalidInput(
            _("You cannot assign customers to “%(user)s”.") % {"user": customer.owner}, field="owner"
        )


def _save_qualifications(customer, qualifications):
    """Replace the customer's qualifications by ``qualifications`` (dicts of kind, number, valid_until)."""
    rows = []
    for index, data in enumerate(qualifications):
        row = Qualification(customer=customer, **data)
        try:
            clean_model(row, exclude=["customer"])
        except InvalidInput as error:
            raise InvalidInput(
                field_errors={f"qualifications[{index}].{name}": messages for name, messages in error.field_errors.items()}
            ) from error
        rows.append(row)
    # Row by row, not in bulk, so that django-simple-history records each
    # removed and added qualification.
    for old_row in customer.qualifications.all():
        old_row.delete()
    for row in rows:
        row.save()


@transaction.atomic
def create_customer(*, actor, owner=None, code="", qualifications=(), **fields):
    """Create a customer owned by ``owner`` (default: the actor) with its qualifications.

    Raises ``NotPermitted`` unless the actor has a sales role, and
    ``InvalidInput`` naming the field for a bad USCC, an owner outside the
    actor's team or any other invalid value. Nothing is saved on failure.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can create customers."))

    customer = Customer(owner=owner, code=(code or "").strip(), **{k: v for k, v in fields.items() if k in CUSTOMER_FIELDS})
    _check_credit_terms_change(actor, customer, Customer())
    _check_owner(customer, actor)
    _check_uscc(customer)
    _check_uscc_unique(customer)
    _check_grade(customer)
    if not customer.code:
        customer.code = next_document_number("CU")
    elif Customer.objects.filter(code=customer.code).exists():
        raise InvalidInput(_("Customer code “%(value)s” is already used.") % {"value": customer.code}, field="code")
    customer.search_text = build_search_text(customer.code, customer.name, customer.uscc)
    clean_model(customer)

    customer.save()
    _save_qualifications(customer, qualifications)
    logger.info("Customer %s created by user %s", customer.pk, actor.pk)
    return customer


@transaction.atomic
def update_customer(*, actor, customer, qualifications=None, owner=None, **fields):
    """Change a customer's fields and, when given, replace its qualifications.

    Only an actor who can see the customer and has a sales role may change
    it; reassigning the owner follows the same rule as creation.
    """
    if not actor.has_role(*SALES_ROLES, *CREDIT_ROLES):
        raise NotPermitted(_("Only sales staff and finance can change customers."))

    customer = visible_customers(actor).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if customer is None:
        raise InvalidInput(_("Customer not found."), code="not_found")
    before = Customer(credit_limit=customer.credit_limit, payment_terms_days=customer.payment_terms_days)
    changed = {
        name for name, value in fields.items() if name in CUSTOMER_FIELDS and str(getattr(customer, name)) != str(value)
    }
    if not actor.has_role(*SALES_ROLES) and changed - set(CREDIT_FIELDS):
        raise NotPermitted(_("Finance can change only the credit limit and payment terms."))
    for name, value in fields.items():
        if name in CUSTOMER_FIELDS:
            setattr(customer, name, value)
    _check_credit_terms_change(actor, customer, before)
    if owner is not None and owner.pk != customer.owner_id:
        if actor.has_role(Role.REPRESENTATIVE) and not actor.has_role(Role.SUPERVISOR, Role.MANAGER, Role.ADMINISTRATOR):
            raise NotPermitted(_("Only a supervisor or manager can reassign a customer."))
        customer.owner = owner
        _check_owner(customer, actor)
    _check_uscc(customer)
    _check_uscc_unique(customer)
    _check_grade(customer)
    customer.search_text = build_search_text(customer.code, customer.name, customer.uscc)
    clean_model(customer)

    customer.save()
    if qualifications is not None and _qualifications_differ(customer, qualifications):
        if not actor.has_role(*QUALIFICATION_ROLES):
            raise InvalidInput(
                _("Only the quality officer or a manager can change the qualifications of an existing customer."),
                field="qualifications",
            )
        _save_qualifications(customer, qualifications)
    logger.info("Customer %s changed by user %s", customer.pk, actor.pk)
    return customer


@transaction.atomic
def replace_qualifications(*, actor, customer, qualifications):
    """Replace a customer's qualifications (dicts of kind, number, valid_until) and return the customer.

    Only the quality officer, managers and administrators may do this once
    the customer exists, because the qualifications decide whether orders
    can be approved.
    """
    if not actor.has_role(*QUALIFICATION_ROLES):
        raise NotPermitted(_("Only the quality officer or a manager can change qualifications."))
    customer = visible_customers(actor).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if customer is None:
        raise InvalidInput(_("Customer not found."), code="not_found")

    _save_qualifications(customer, qualifications)
    logger.info("Qualifications of customer %s replaced by user %s", customer.pk, actor.pk)
    return customer


def _qualifications_differ(customer, qualifications):
    def key(kind, number, valid_until):
        return (str(kind), str(number).strip(), valid_until.isoformat() if valid_until else "")

    current = sorted(key(q.kind, q.number, q.valid_until) for q in customer.qualifications.all())
    requested = sorted(key(q.get("kind"), q.get("number", ""), q.get("valid_until")) for q in qualifications)
    return current != requested


def _same_value(new, old):
    """Compare a submitted value (possibly a string such as "0.00") with the stored one."""
    try:
        return Decimal(str(new)) == Decimal(str(old))
    except (InvalidOperation, ValueError):
        return False


def _check_credit_terms_change(actor, customer, before):
    """Let only finance, supervisors, managers and administrators change the credit limit or payment terms."""
    if actor.has_role(*CREDIT_ROLES):
        return
    for name in CREDIT_FIELDS:
        if not _same_value(getattr(customer, name), getattr(before, name)):
            raise InvalidInput(
                _("Only finance, a supervisor or a manager can set the %(field)s; it stays %(value)s.")
                % {"field": Customer._meta.get_field(name).verbose_name, "value": getattr(before, name)},
                field=name,
            )
