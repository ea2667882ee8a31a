"""Writes on customers, their contacts, addresses, documents and qualifications.

Validation that an importer can call without a form or a saved row:

- ``validate_contact_data(data)`` and ``clean_contact_data(data)`` for a contact dict,
- ``validate_address_data(data)`` and ``clean_address_data(data)`` for a delivery address dict,
- ``check_document_upload(upload, field)`` for a scan or document file.

Each returns or raises errors keyed by field name, with messages that name the value.
"""

import datetime
import logging
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import SALES_ROLES, Role
from dentalsales.accounts.selectors import assignable_owners
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted, clean_model, join_reasons
from dentalsales.core.models import Region
from dentalsales.core.pinyin import build_search_text
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import local_today
from dentalsales.core.validators import is_mainland_mobile, normalize_phone, normalize_uscc, uscc_problem

from .models import (
    BusinessProfile,
    Contact,
    Customer,
    CustomerCategory,
    CustomerDocument,
    DecisionRole,
    DeliveryAddress,
    DocumentKind,
    Qualification,
    VerificationStatus,
)
from .selectors import contact_customers, visible_customers

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


def _require_grade(customer):
    """Refuse a new key or general customer without a grade: the grade selects its price list."""
    if customer.category != CustomerCategory.POTENTIAL and not customer.grade:
        raise InvalidInput(
            _("%(category)s needs grade A, B or C.") % {"category": CustomerCategory(customer.category).label},
            field="grade",
        )


# Landline numbers as Chinese offices write them: 028-85551234, (010)6555 1234, 0755 2655 1234-801.
LANDLINE_PATTERN = re.compile(r"^\(?0[1-9][0-9]{1,2}\)?[- ]?[0-9]{7,8}([- ]?[0-9]{1,5})?$")


def clean_contact_phone(phone):
    """Return ``(phone to store, problem message or None)`` for a customer's contact phone.

    A mainland mobile number is stored as 11 digits; a landline number with
    its area code is stored as typed. Anything else is a problem.
    """
    phone = str(phone or "").strip()
    if not phone:
        return "", None
    digits = normalize_phone(phone)
    if not digits.startswith("1") and LANDLINE_PATTERN.match(phone.replace("－", "-")):
        return phone, None
    if is_mainland_mobile(digits):
        return digits, None
    return phone, _(
        "Contact phone “%(value)s” is not a mainland mobile number (11 digits starting with 13 to 19) "
        "or a landline number with area code."
    ) % {"value": phone}


def _check_contact_phone(customer):
    customer.contact_phone, problem = clean_contact_phone(customer.contact_phone)
    if problem:
        raise InvalidInput(problem, field="contact_phone")


# Characters left out when two customer names are compared, so that
# 成都·锦江 口腔（总院） and 成都锦江口腔(总院) count as the same name.
NAME_NOISE = re.compile(r"[\s\-_.,，。·•、'\"“”‘’()（）\[\]【】]")


def normalize_name(name):
    """Return a customer name reduced for duplicate detection: NFKC width folding, no spaces or punctuation, lower case."""
    return NAME_NOISE.sub("", unicodedata.normalize("NFKC", name or "")).lower()


def customer_with_same_name(name, exclude_pk=None):
    """Return the customer whose normalised name equals that of ``name`` (an active one first), or None."""
    wanted = normalize_name(name)
    if not wanted:
        return None
    candidates = Customer.objects.exclude(pk=exclude_pk).order_by("-is_active", "code").values_list("pk", "name")
    for pk, other_name in candidates.iterator():
        if normalize_name(other_name) == wanted:
            return Customer.objects.get(pk=pk)
    return None


def _check_duplicate_name(customer, allow_duplicate_name):
    if allow_duplicate_name:
        return
    other = customer_with_same_name(customer.name, exclude_pk=customer.pk)
    if other is not None:
        raise InvalidInput(
            _(
                "Duplicate: the name “%(value)s” matches customer %(code)s %(name)s. "
                "Open that customer instead, or confirm that this is a different customer."
            )
            % {"value": customer.name, "code": other.code, "name": other.name},
            field="name",
            code="duplicate_name",
        )


def _change_grade(actor, customer, before_grade, reason):
    """Apply a category or grade change requested with other fields through the grade change service."""
    from . import grading

    if not (reason or "").strip():
        raise InvalidInput(
            _(
                "The category and grade change from “%(old)s” to “%(new)s” needs a reason; "
                "give it in grade_reason, or use the change category and grade screen."
            )
            % {
                "old": _grade_text(*before_grade),
                "new": _grade_text(customer.category, customer.grade or ""),
            },
            field="grade_reason",
        )
    grading.set_grade(actor=actor, customer=customer, category=customer.category, grade=customer.grade, reason=reason)


def _grade_text(category, grade):
    from .models import CustomerCategory

    label = str(CustomerCategory(category).label) if category in CustomerCategory.values else category
    return f"{label} {grade}".strip()


def _check_owner(customer, actor):
    if customer.owner_id is None:
        customer.owner = actor
    if not assignable_owners(actor).filter(pk=customer.owner_id).exists():
        raise InvalidInput(
            _("You cannot assign customers to “%(user)s”.") % {"user": customer.owner}, field="owner"
        )


QUALIFICATION_FIELDS = ("kind", "number", "issuing_authority", "valid_until", "device_classes", "covers_drugs")


def _qualification_key(data):
    valid_until = data.get("valid_until")
    categories = data.get("categories") or ()
    return (
        str(data.get("kind", "")),
        str(data.get("number", "")).strip(),
        str(data.get("issuing_authority", "") or "").strip(),
        valid_until.isoformat() if valid_until else "",
        tuple(sorted(data.get("device_classes") or ())),
        bool(data.get("covers_drugs", False)),
        tuple(sorted(getattr(category, "pk", category) for category in categories)),
    )


SCOPE_FIELDS = ("issuing_authority", "device_classes", "covers_drugs", "categories")


def _complete_from_stored(stored_rows, data):
    """Return ``data`` with the scope fields it omits taken from the stored row of the same kind, number and date.

    Callers that edit only kind, number and valid-until (such as the older
    qualification form) thus keep a stored scope instead of erasing it.
    """
    missing = [name for name in SCOPE_FIELDS if name not in data]
    if not missing:
        return data
    base = _qualification_key({"kind": data.get("kind"), "number": data.get("number", ""), "valid_until": data.get("valid_until")})[:4]
    for row in stored_rows:
        if _qualification_key({"kind": row.kind, "number": row.number, "valid_until": row.valid_until})[:4] == base:
            stored = {name: getattr(row, name) for name in SCOPE_FIELDS if name != "categories"}
            stored["categories"] = [category.pk for category in row.categories.all()]
            return {**data, **{name: stored[name] for name in missing}}
    return data


def _stored_key(qualification):
    return _qualification_key(
        {
            **{name: getattr(qualification, name) for name in QUALIFICATION_FIELDS},
            "categories": [category.pk for category in qualification.categories.all()],
        }
    )


def _save_qualifications(customer, qualifications):
    """Replace the customer's qualifications by ``qualifications`` (dicts of the fields in ``QUALIFICATION_FIELDS``
    and ``categories``).

    A qualification that is unchanged keeps its verification; a new or
    changed one waits for the quality officer. Returns the new rows.
    """
    stored_rows = list(customer.qualifications.prefetch_related("categories"))
    rows = []
    for index, data in enumerate(qualifications):
        data = _complete_from_stored(stored_rows, data)
        fields = {name: data[name] for name in QUALIFICATION_FIELDS if name in data}
        fields["device_classes"] = _check_device_classes(fields.get("device_classes") or [], index)
        row = Qualification(customer=customer, **fields)
        try:
            clean_model(row, exclude=["customer"])
        except InvalidInput as error:
            raise InvalidInput(
                field_errors={f"qualifications[{index}].{name}": messages for name, messages in error.field_errors.items()}
            ) from error
        rows.append((row, list(data.get("categories") or ())))

    existing = {}
    for old_row in stored_rows:
        existing.setdefault(_stored_key(old_row), []).append(old_row)
    new_rows = []
    for row, categories in rows:
        same = existing.get(_qualification_key({**{n: getattr(row, n) for n in QUALIFICATION_FIELDS}, "categories": categories}))
        if same:
            same.pop()
        else:
            new_rows.append((row, categories))
    # Row by row, not in bulk, so that django-simple-history records each
    # removed and added qualification.
    for leftovers in existing.values():
        for old_row in leftovers:
            old_row.delete()
    added = []
    for row, categories in new_rows:
        row.save()
        row.categories.set(categories)
        added.append(row)
    if added:
        announce_pending(customer, added)
    return added


def _check_device_classes(value, index=None):
    allowed = {"I", "II", "III"}
    classes = [str(item).strip().upper() for item in value if str(item).strip()]
    bad = [item for item in classes if item not in allowed]
    if bad:
        field = "device_classes" if index is None else f"qualifications[{index}].device_classes"
        raise InvalidInput(
            _("“%(value)s” is not a device class; use I, II or III.") % {"value": bad[0]}, field=field
        )
    return sorted(set(classes), key=["I", "II", "III"].index)


def announce_pending(customer, qualifications):
    """Tell the quality officers, in one notification per customer, that qualifications wait for their verification."""
    from django.urls import reverse

    from dentalsales.notifications.services import notify, users_with_roles

    notify(
        users_with_roles(Role.QUALITY_OFFICER),
        title=_("Qualifications of %(customer)s wait for verification") % {"customer": customer},
        body=join_reasons(f"{q.get_kind_display()} {q.number}" for q in qualifications),
        link=reverse("customers:verification_queue"),
        category="qualification_verification",
    )


def create_customer(*, actor, creation_token="", **arguments):
    """Create a customer owned by ``owner`` (default: the actor) with its qualifications.

    ``creation_token`` is the one-time token of a creation form: a second
    request with the same token, such as a double submit, creates nothing
    and returns the customer the first one created, with ``replayed`` set
    to True. See ``_create_customer`` for the arguments and errors.
    """
    token = (creation_token or "").strip()
    if not token:
        return _create_customer(actor=actor, **arguments)
    existing = _customer_of_token(actor, token)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _create_customer(actor=actor, creation_token=token, **arguments)
    except IntegrityError:
        # A concurrent request with the same token committed first.
        existing = _customer_of_token(actor, token)
        if existing is None:
            raise
        return existing


def _customer_of_token(actor, token):
    customer = visible_customers(actor).filter(creation_token=token).first()
    if customer is not None:
        customer.replayed = True
    return customer


@transaction.atomic
def _create_customer(
    *, actor, owner=None, code="", qualifications=(), prospect_source="", prospect_source_detail="",
    allow_duplicate_name=False, require_grade=True, creation_token="", **fields,
):
    """Create a customer owned by ``owner`` (default: the actor) with its qualifications.

    A potential customer also gets its pipeline record (``crm.Prospect``) at
    stage new, whichever screen, API call or import creates it, so that the
    pipeline and the conversion report count it. ``prospect_source`` is
    one of ``crm.ProspectSource``; empty means "other".

    Raises ``NotPermitted`` unless the actor has a sales role, and
    ``InvalidInput`` naming the field for a bad USCC or contact phone, a key
    or general customer without a grade, an owner outside the actor's team
    or any other invalid value. A name that matches another customer's
    after normalisation (``normalize_name``) is refused with code
    ``duplicate_name`` unless ``allow_duplicate_name`` is true. Nothing is
    saved on failure. An import passes ``require_grade=False``: lists from
    older systems often carry no grade, and the grading rule grades such
    customers at its next run.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can create customers."))

    customer = Customer(
        owner=owner, code=(code or "").strip(), creation_token=creation_token,
        **{k: v for k, v in fields.items() if k in CUSTOMER_FIELDS},
    )
    _check_credit_terms_change(actor, customer, Customer())
    _check_owner(customer, actor)
    _check_uscc(customer)
    _check_uscc_unique(customer)
    _check_grade(customer)
    if require_grade:
        _require_grade(customer)
    _check_contact_phone(customer)
    _check_duplicate_name(customer, allow_duplicate_name)
    if not customer.code:
        customer.code = next_document_number("CU")
    elif Customer.objects.filter(code=customer.code).exists():
        raise InvalidInput(_("Customer code “%(value)s” is already used.") % {"value": customer.code}, field="code")
    customer.search_text = build_search_text(customer.code, customer.name, customer.uscc)
    # The token's uniqueness is left to the database, whose error the caller turns into a replay.
    clean_model(customer, exclude=["creation_token"])

    customer.save()
    _save_qualifications(customer, qualifications)
    if customer.category == CustomerCategory.POTENTIAL:
        # Imported here because crm's services build on this module.
        from dentalsales.crm.models import ProspectSource
        from dentalsales.crm.services.prospects import open_prospect

        open_prospect(
            actor=actor,
            customer=customer,
            source=prospect_source or ProspectSource.OTHER,
            source_detail=prospect_source_detail,
        )
    logger.info("Customer %s created by user %s", customer.pk, actor.pk)
    return customer


@transaction.atomic
def update_customer(*, actor, customer, qualifications=None, owner=None, grade_reason="", **fields):
    """Change a customer's fields and, when given, replace its qualifications.

    Only an actor who can see the customer and has a sales role may change
    it; reassigning the owner follows the same rule as creation. A change
    of category or grade goes through ``grading.set_grade``, so it needs
    ``grade_reason`` and a supervisor or manager, and is kept in the grade
    change log; ``InvalidInput`` on ``grade_reason`` names the change when
    the reason is missing.
    """
    if not actor.has_role(*SALES_ROLES, *CREDIT_ROLES):
        raise NotPermitted(_("Only sales staff and finance can change customers."))

    customer = visible_customers(actor).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if customer is None:
        raise InvalidInput(_("Customer not found."), code="not_found")
    before = Customer(credit_limit=customer.credit_limit, payment_terms_days=customer.payment_terms_days)
    before_grade = (customer.category, customer.grade or "")
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
    if "contact_phone" in changed:
        # Checked only when changed, so that an older number does not block other edits.
        _check_contact_phone(customer)
    customer.search_text = build_search_text(customer.code, customer.name, customer.uscc)
    clean_model(customer)

    if (customer.category, customer.grade or "") != before_grade:
        _change_grade(actor, customer, before_grade, grade_reason)
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
    stored_rows = list(customer.qualifications.prefetch_related("categories"))
    current = sorted(_stored_key(q) for q in stored_rows)
    requested = sorted(_qualification_key(_complete_from_stored(stored_rows, q)) for q in qualifications)
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


# --- Contacts -----------------------------------------------------------------------------------------------

CONTACT_FIELDS = (
    "name", "title", "department", "mobile", "phone", "email", "wechat", "birthday", "decision_role", "is_primary", "note",
)
CONTACT_MAX_LENGTHS = {"name": 50, "title": 50, "department": 50, "phone": 30, "wechat": 50, "note": 300}
PHONE_PATTERN = re.compile(r"^[0-9+()#*\- ]{5,30}$")


def _parse_date(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    return datetime.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))


def _choice_value(choices, value):
    """Return the stored value of a choice given its value or its label in the active language."""
    text = str(value or "").strip()
    for stored, label in choices:
        if text in (stored, str(label)):
            return stored
    return None


def _as_bool(value):
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "yes", "y", "是", "√", "x"}


def clean_contact_data(data):
    """Return ``(cleaned, field_errors)`` for a contact dict such as a form, API body or spreadsheet row gives.

    Strings are stripped, the mobile number loses spaces, hyphens and a
    leading +86, the birthday may be a date or an ISO string, and the
    decision role may be given by value or by label. ``field_errors`` maps
    each field to its messages; it is empty when the data is valid.
    """
    cleaned = {}
    errors = {}

    def fail(field, message):
        errors.setdefault(field, []).append(str(message))

    for name in ("name", "title", "department", "phone", "email", "wechat", "note"):
        cleaned[name] = str(data.get(name) or "").strip()
    if not cleaned["name"]:
        fail("name", _("The contact's name is missing."))
    for name, limit in CONTACT_MAX_LENGTHS.items():
        if len(cleaned[name]) > limit:
            fail(name, _("“%(value)s” is longer than %(limit)d characters.") % {"value": cleaned[name], "limit": limit})

    raw_mobile = str(data.get("mobile") or "").strip()
    cleaned["mobile"] = normalize_phone(raw_mobile)
    if raw_mobile and not is_mainland_mobile(cleaned["mobile"]):
        fail("mobile", _("“%(value)s” is not a mainland mobile number: it needs 11 digits starting with 13 to 19.") % {"value": raw_mobile})
    if cleaned["phone"] and not PHONE_PATTERN.match(cleaned["phone"]):
        fail("phone", _("“%(value)s” is not a phone number: use digits, spaces, hyphens and brackets only.") % {"value": cleaned["phone"]})
    if cleaned["email"]:
        try:
            EmailValidator()(cleaned["email"])
        except ValidationError:
            fail("email", _("“%(value)s” is not an e-mail address.") % {"value": cleaned["email"]})

    raw_birthday = data.get("birthday")
    try:
        cleaned["birthday"] = _parse_date(raw_birthday)
    except ValueError:
        cleaned["birthday"] = None
        fail("birthday", _("“%(value)s” is not a date; use YYYY-MM-DD.") % {"value": raw_birthday})
    else:
        birthday = cleaned["birthday"]
        if birthday and not (datetime.date(1900, 1, 1) <= birthday <= local_today()):
            fail("birthday", _("Birthday %(value)s is not between 1900-01-01 and today.") % {"value": birthday})

    raw_role = data.get("decision_role")
    if raw_role in (None, ""):
        cleaned["decision_role"] = DecisionRole.OTHER
    else:
        cleaned["decision_role"] = _choice_value(DecisionRole.choices, raw_role)
        if cleaned["decision_role"] is None:
            fail(
                "decision_role",
                _("“%(value)s” is not a decision role; choose one of: %(choices)s.")
                % {"value": raw_role, "choices": join_reasons(label for _value, label in DecisionRole.choices)},
            )
    cleaned["is_primary"] = _as_bool(data.get("is_primary"))
    return cleaned, errors


def validate_contact_data(data):
    """Return the field errors of a contact dict (empty when valid); see ``clean_contact_data``."""
    return clean_contact_data(data)[1]


def _lock_customer_with_contacts(actor, customer):
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can change contacts."))
    locked = contact_customers(actor).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise InvalidInput(_("Customer not found."), code="not_found")
    return locked


def _save_contact(contact, data):
    cleaned, errors = clean_contact_data(data)
    if errors:
        raise InvalidInput(field_errors=errors)
    for name, value in cleaned.items():
        setattr(contact, name, value)
    if contact.is_primary:
        contact.customer.contacts.filter(is_primary=True).exclude(pk=contact.pk).update(is_primary=False)
    contact.save()
    return contact


@transaction.atomic
def create_contact(*, actor, customer, **data):
    """Add a contact to a customer the actor may see contacts of; a new primary contact replaces the old one."""
    customer = _lock_customer_with_contacts(actor, customer)
    contact = _save_contact(Contact(customer=customer), data)
    logger.info("Contact %s added to customer %s by user %s", contact.pk, customer.pk, actor.pk)
    return contact


@transaction.atomic
def update_contact(*, actor, contact, **data):
    """Change a contact; fields missing from ``data`` keep their values."""
    _lock_customer_with_contacts(actor, contact.customer)
    current = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    contact = _save_contact(contact, {**current, **data})
    logger.info("Contact %s changed by user %s", contact.pk, actor.pk)
    return contact


@transaction.atomic
def delete_contact(*, actor, contact):
    _lock_customer_with_contacts(actor, contact.customer)
    logger.info("Contact %s of customer %s deleted by user %s", contact.pk, contact.customer_id, actor.pk)
    contact.delete()


# --- Delivery addresses -------------------------------------------------------------------------------------

ADDRESS_FIELDS = ("label", "region", "detail", "postcode", "recipient", "recipient_phone", "is_default")


def clean_address_data(data):
    """Return ``(cleaned, field_errors)`` for a delivery address dict.

    ``region`` may be a ``Region`` or its six-digit code and must be a
    district or county, or a city that has none (such as 东莞市).
    """
    cleaned = {}
    errors = {}

    def fail(field, message):
        errors.setdefault(field, []).append(str(message))

    for name in ("label", "detail", "postcode", "recipient", "recipient_phone"):
        cleaned[name] = str(data.get(name) or "").strip()
    region = data.get("region")
    if region in (None, ""):
        fail("region", _("The district is missing."))
    else:
        if not isinstance(region, Region):
            region = Region.objects.filter(code=str(region).strip()).first()
            if region is None:
                fail("region", _("“%(value)s” is not a known region code.") % {"value": data.get("region")})
        if region is not None and region.level != Region.Level.DISTRICT and region.children.exists():
            fail("region", _("Choose a district or county of %(value)s, not the %(level)s itself.") % {"value": region.full_name, "level": region.get_level_display()})
    cleaned["region"] = region if isinstance(region, Region) else None
    if not cleaned["detail"]:
        fail("detail", _("The street address is missing."))
    elif len(cleaned["detail"]) > 200:
        fail("detail", _("“%(value)s” is longer than %(limit)d characters.") % {"value": cleaned["detail"], "limit": 200})
    if cleaned["postcode"] and not re.fullmatch(r"[0-9]{6}", cleaned["postcode"]):
        fail("postcode", _("“%(value)s” is not a postcode: it needs 6 digits.") % {"value": cleaned["postcode"]})
    if not cleaned["recipient"]:
        fail("recipient", _("The recipient is missing."))
    if not cleaned["recipient_phone"]:
        fail("recipient_phone", _("The recipient's phone is missing."))
    elif not PHONE_PATTERN.match(cleaned["recipient_phone"]):
        fail("recipient_phone", _("“%(value)s” is not a phone number: use digits, spaces, hyphens and brackets only.") % {"value": cleaned["recipient_phone"]})
    for name, limit in (("label", 50), ("recipient", 50)):
        if len(cleaned[name]) > limit:
            fail(name, _("“%(value)s” is longer than %(limit)d characters.") % {"value": cleaned[name], "limit": limit})
    cleaned["is_default"] = _as_bool(data.get("is_default"))
    return cleaned, errors


def validate_address_data(data):
    """Return the field errors of a delivery address dict (empty when valid); see ``clean_address_data``."""
    return clean_address_data(data)[1]


def _lock_visible_customer(actor, customer, roles=SALES_ROLES, message=None):
    if not actor.has_role(*roles):
        raise NotPermitted(message or _("Only sales staff can change customers."))
    locked = visible_customers(actor).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise InvalidInput(_("Customer not found."), code="not_found")
    return locked


def _save_address(address, data):
    cleaned, errors = clean_address_data(data)
    if errors:
        raise InvalidInput(field_errors=errors)
    for name, value in cleaned.items():
        setattr(address, name, value)
    if not address.customer.addresses.exclude(pk=address.pk).exists():
        address.is_default = True
    if address.is_default:
        address.customer.addresses.filter(is_default=True).exclude(pk=address.pk).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def create_address(*, actor, customer, **data):
    """Add a delivery address; the first one, or one marked default, becomes the default."""
    customer = _lock_visible_customer(actor, customer)
    address = _save_address(DeliveryAddress(customer=customer), data)
    logger.info("Address %s added to customer %s by user %s", address.pk, customer.pk, actor.pk)
    return address


@transaction.atomic
def update_address(*, actor, address, **data):
    _lock_visible_customer(actor, address.customer)
    current = {name: getattr(address, name) for name in ADDRESS_FIELDS}
    address = _save_address(address, {**current, **data})
    logger.info("Address %s changed by user %s", address.pk, actor.pk)
    return address


@transaction.atomic
def delete_address(*, actor, address):
    customer = _lock_visible_customer(actor, address.customer)
    was_default = address.is_default
    logger.info("Address %s of customer %s deleted by user %s", address.pk, customer.pk, actor.pk)
    address.delete()
    if was_default:
        successor = customer.addresses.order_by("pk").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default"])


# --- Business information -----------------------------------------------------------------------------------

PROFILE_FIELDS = (
    "chairs", "doctors", "specialities", "annual_consumables_spend", "current_suppliers", "purchasing_habits", "preferences",
)


@transaction.atomic
def save_business_profile(*, actor, customer, **data):
    """Create or change the business information of a customer the actor may see."""
    customer = _lock_visible_customer(actor, customer)
    profile = BusinessProfile.objects.filter(customer=customer).first() or BusinessProfile(customer=customer)
    for name in PROFILE_FIELDS:
        if name in data:
            value = data[name]
            setattr(profile, name, value.strip() if isinstance(value, str) else value)
    for name in ("chairs", "doctors", "annual_consumables_spend"):
        if getattr(profile, name) == "":
            setattr(profile, name, None)
    clean_model(profile, exclude=["customer"])
    profile.save()
    logger.info("Business information of customer %s saved by user %s", customer.pk, actor.pk)
    return profile


# --- Documents and scans ------------------------------------------------------------------------------------

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# File signatures of the accepted formats, checked on the content, not the name.
DOCUMENT_SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}


def check_document_upload(upload, field="file"):
    """Raise ``InvalidInput`` on ``field`` unless ``upload`` is a PDF, JPEG or PNG file of at most 10 MB, judged by its content."""
    name = getattr(upload, "name", "") or ""
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in DOCUMENT_SIGNATURES:
        raise InvalidInput(_("“%(value)s” is not a PDF, JPEG or PNG file.") % {"value": name}, field=field)
    if upload.size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            _("“%(value)s” is larger than 10 MB; scan it at a lower resolution.") % {"value": name}, field=field
        )
    if upload.size == 0:
        raise InvalidInput(_("“%(value)s” is empty.") % {"value": name}, field=field)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(signature) for signature in DOCUMENT_SIGNATURES[extension]):
        raise InvalidInput(
            _("The content of “%(value)s” is not a %(kind)s file.") % {"value": name, "kind": extension[1:].upper()},
            field=field,
        )


DOCUMENT_ROLES = frozenset({*SALES_ROLES, Role.QUALITY_OFFICER})


@transaction.atomic
def upload_document(*, actor, customer, upload, title="", kind=DocumentKind.OTHER):
    """Attach a checked file to a customer; sales staff and the quality officer may upload."""
    customer = _lock_visible_customer(actor, customer, DOCUMENT_ROLES, _("Only sales staff and the quality officer can upload documents."))
    check_document_upload(upload)
    if _choice_value(DocumentKind.choices, kind) is None:
        raise InvalidInput(_("“%(value)s” is not a document kind.") % {"value": kind}, field="kind")
    title = (title or "").strip() or upload.name.rsplit("/", 1)[-1][:100]
    document = CustomerDocument(
        customer=customer, kind=_choice_value(DocumentKind.choices, kind), title=title[:100], size=upload.size, uploaded_by=actor
    )
    document.file.save(upload.name.rsplit("/", 1)[-1], upload, save=False)
    document.save()
    logger.info("Document %s attached to customer %s by user %s", document.pk, customer.pk, actor.pk)
    return document


@transaction.atomic
def delete_document(*, actor, document):
    """Delete a document; only its uploader, a manager or an administrator may."""
    _lock_visible_customer(actor, document.customer, DOCUMENT_ROLES)
    if document.uploaded_by_id != actor.pk and not actor.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        raise NotPermitted(_("Only the uploader or a manager can delete a document."))
    logger.info("Document %s of customer %s deleted by user %s", document.pk, document.customer_id, actor.pk)
    document.file.delete(save=False)
    document.delete()


# --- Qualification verification (首营审核) --------------------------------------------------------------------


@transaction.atomic
def add_qualification(*, actor, customer, scan=None, announce=True, **data):
    """Add one qualification, waiting for verification; sales staff and the quality officer may add.

    Without ``announce`` the caller tells the quality officer itself
    (``announce_pending``), as an import does once per customer.
    """
    customer = _lock_visible_customer(
        actor, customer, DOCUMENT_ROLES, _("Only sales staff and the quality officer can add qualifications.")
    )
    if scan is not None:
        check_document_upload(scan, field="scan")
    fields = {name: data[name] for name in QUALIFICATION_FIELDS if name in data}
    fields["device_classes"] = _check_device_classes(fields.get("device_classes") or [])
    qualification = Qualification(customer=customer, **fields)
    clean_model(qualification, exclude=["customer", "scan"])
    if scan is not None:
        qualification.scan.save(scan.name.rsplit("/", 1)[-1], scan, save=False)
    qualification.save()
    qualification.categories.set(data.get("categories") or [])
    if announce:
        announce_pending(customer, [qualification])
    logger.info("Qualification %s added to customer %s by user %s", qualification.pk, customer.pk, actor.pk)
    return qualification


@transaction.atomic
def attach_qualification_scan(*, actor, qualification, scan):
    """Attach or replace the scan of a qualification; the qualification then waits for verification again."""
    _lock_visible_customer(actor, qualification.customer, DOCUMENT_ROLES)
    check_document_upload(scan, field="scan")
    qualification = Qualification.objects.select_for_update().get(pk=qualification.pk)
    qualification.scan.save(scan.name.rsplit("/", 1)[-1], scan, save=False)
    qualification.verification_status = VerificationStatus.PENDING
    qualification.verified_by = None
    qualification.verified_at = None
    qualification.save()
    announce_pending(qualification.customer, [qualification])
    return qualification


@transaction.atomic
def verify_qualification(*, actor, qualification, approve=True, note=""):
    """Record the quality officer's verification of a qualification (首营审核).

    Approving makes the qualification count in order review; rejecting needs
    a note saying what is wrong. Either way the customer's representative is
    notified. Raises ``InvalidTransition`` unless the qualification is waiting.
    """
    from dentalsales.notifications.services import notify

    if not actor.has_role(Role.QUALITY_OFFICER):
        raise NotPermitted(_("Only the quality officer can verify qualifications."))
    qualification = Qualification.objects.select_for_update().select_related("customer__owner").get(pk=qualification.pk)
    if qualification.verification_status != VerificationStatus.PENDING:
        raise InvalidTransition(
            _("%(qualification)s is %(status)s, not waiting for verification.")
            % {"qualification": qualification, "status": qualification.get_verification_status_display()}
        )
    note = (note or "").strip()
    if not approve and not note:
        raise InvalidInput(_("Say why the qualification is rejected."), field="note")
    if len(note) > 300:
        raise InvalidInput(_("The note is longer than %(limit)d characters.") % {"limit": 300}, field="note")
    qualification.verification_status = VerificationStatus.VERIFIED if approve else VerificationStatus.REJECTED
    qualification.verified_by = actor
    qualification.verified_at = timezone.now()
    qualification.verification_note = note
    qualification.save()
    customer = qualification.customer
    if approve:
        title = _("%(qualification)s of %(customer)s was verified") % {"qualification": qualification, "customer": customer}
    else:
        title = _("%(qualification)s of %(customer)s was rejected") % {"qualification": qualification, "customer": customer}
    notify([customer.owner], title=title, body=note, link=customer.get_absolute_url(), category="qualification_verification")
    logger.info("Qualification %s %s by user %s", qualification.pk, qualification.verification_status, actor.pk)
    return qualification
