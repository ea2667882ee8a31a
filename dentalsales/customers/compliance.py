"""Which qualifications a customer must hold to buy given products (GSP).

Only qualifications verified by the quality officer (首营审核) count; those
waiting for verification are named, so that the reviewer can tell why a check fails.
"""

from django.utils.translation import gettext as _

from dentalsales.core.errors import join_reasons
from dentalsales.core.timeutils import local_today

from .models import CustomerType, QualificationKind, VerificationStatus

MEDICAL_INSTITUTION_TYPES = {CustomerType.DENTAL_HOSPITAL, CustomerType.CLINIC, CustomerType.HOSPITAL_DEPARTMENT}
# Qualifications whose device scope (classes and categories) limits what a
# customer may buy.
DEVICE_SCOPE_KINDS = {
    QualificationKind.MEDICAL_INSTITUTION_LICENCE,
    QualificationKind.DEVICE_BUSINESS_LICENCE,
    QualificationKind.DEVICE_BUSINESS_RECORD,
}
def requires_drug_licence(product):
    """Tell whether selling ``product`` needs a qualification that covers drugs (its ``requires_drug_licence`` flag)."""
    return product.requires_drug_licence


def qualification_problems(customer, device_classes, *, qualifications=None, day=None):
    """Return the reasons why ``customer`` may not buy products of ``device_classes`` today; empty if none.

    A medical institution needs a valid practice licence. A distributor or
    retailer needs a valid business licence, plus a device business licence
    for class III products, or a licence or record for class II products.
    Only verified qualifications count. ``qualifications`` may be passed
    when already fetched.
    """
    day = day or local_today()
    held = list(customer.qualifications.all()) if qualifications is None else list(qualifications)
    verified = [q for q in held if q.verification_status == VerificationStatus.VERIFIED]
    pending = [q for q in held if q.verification_status == VerificationStatus.PENDING and q.is_valid_on(day)]
    valid_kinds = {q.kind for q in verified if q.is_valid_on(day)}
    expired = {q.kind: q for q in verified if not q.is_valid_on(day)}
    problems = []

    def require(kinds, label):
        if valid_kinds.intersection(kinds):
            return
        waiting = [q for q in pending if q.kind in kinds]
        lapsed = [expired[kind] for kind in kinds if kind in expired]
        if waiting:
            problems.append(
                _("%(kind)s %(number)s is waiting for the quality officer's verification.")
                % {"kind": waiting[0].get_kind_display(), "number": waiting[0].number}
            )
        elif lapsed:
            problems.append(
                _("%(kind)s %(number)s expired on %(date)s.")
                % {"kind": lapsed[0].get_kind_display(), "number": lapsed[0].number, "date": lapsed[0].valid_until}
            )
        else:
            problems.append(_("No valid %(kind)s on file.") % {"kind": label})

    if customer.customer_type in MEDICAL_INSTITUTION_TYPES:
        require([QualificationKind.MEDICAL_INSTITUTION_LICENCE], QualificationKind.MEDICAL_INSTITUTION_LICENCE.label)
    else:
        require([QualificationKind.BUSINESS_LICENCE], QualificationKind.BUSINESS_LICENCE.label)
        classes = set(device_classes)
        if "III" in classes:
            require([QualificationKind.DEVICE_BUSINESS_LICENCE], QualificationKind.DEVICE_BUSINESS_LICENCE.label)
        elif "II" in classes:
            require(
                [QualificationKind.DEVICE_BUSINESS_LICENCE, QualificationKind.DEVICE_BUSINESS_RECORD],
                _("medical device business licence or record"),
            )
    return problems


def _category_chain(category):
    chain = set()
    while category is not None:
        chain.add(category.pk)
        category = category.parent
    return chain


def covers_product(qualification, product):
    """Tell whether the scope of ``qualification`` covers the device class and category of ``product``."""
    if qualification.device_classes and product.device_class not in qualification.device_classes:
        return False
    scope_categories = {category.pk for category in qualification.categories.all()}
    if scope_categories and not scope_categories & _category_chain(product.category):
        return False
    return True


def scope_problems(customer, products, *, qualifications=None, day=None):
    """Return the reasons why products are outside the verified, valid scope of ``customer``; empty if none.

    A product needs a device-scope qualification (practice licence for a
    medical institution, device licence or record for classes II and III
    elsewhere) whose classes and categories cover it; an empty class or
    category list covers everything. When the customer holds no such
    qualification at all, ``qualification_problems`` already reports it.
    A drug needs a qualification that covers drugs.
    """
    day = day or local_today()
    held = list(customer.qualifications.all()) if qualifications is None else list(qualifications)
    usable = [q for q in held if q.verification_status == VerificationStatus.VERIFIED and q.is_valid_on(day)]
    device_scopes = [q for q in usable if q.kind in DEVICE_SCOPE_KINDS]
    institution = customer.customer_type in MEDICAL_INSTITUTION_TYPES
    outside = []
    drugs = []
    for product in products:
        if requires_drug_licence(product):
            if not any(q.covers_drugs for q in usable):
                drugs.append(str(product))
            continue
        needs_scope = institution or product.device_class in ("II", "III")
        if needs_scope and device_scopes and not any(covers_product(q, product) for q in device_scopes):
            outside.append(str(product))
    problems = []
    if outside:
        problems.append(
            _("Outside the scope of the customer's verified qualifications: %(products)s.")
            % {"products": join_reasons(outside)}
        )
    if drugs:
        problems.append(
            _("No verified, valid qualification covering drugs for: %(products)s.") % {"products": join_reasons(drugs)}
        )
    return problems


def pending_qualifications(customer, *, qualifications=None, except_named_in=()):
    """Return the customer's qualifications waiting for verification.

    Those whose kind and number a text in ``except_named_in`` (such as a
    problem from ``qualification_problems``) already names are left out, so
    that a review lists each waiting licence once.
    """
    held = list(customer.qualifications.all()) if qualifications is None else list(qualifications)
    texts = [str(text) for text in except_named_in]
    return [
        q for q in held
        if q.verification_status == VerificationStatus.PENDING
        and not any(str(q.get_kind_display()) in text and q.number in text for text in texts)
    ]
