"""Which qualifications a customer must hold to buy given products (GSP)."""

from django.utils.translation import gettext as _

from dentalsales.core.timeutils import local_today

from .models import CustomerType, QualificationKind

MEDICAL_INSTITUTION_TYPES = {CustomerType.DENTAL_HOSPITAL, CustomerType.CLINIC, CustomerType.HOSPITAL_DEPARTMENT}


def qualification_problems(customer, device_classes, *, qualifications=None, day=None):
    """Return the reasons why ``customer`` may not buy products of ``device_classes`` today; empty if none.

    A medical institution needs a valid practice licence. A distributor or
    retailer needs a valid business licence, plus a device business licence
    for class III products, or a licence or record for class II products.
    ``qualifications`` may be passed when already fetched.
    """
    day = day or local_today()
    held = list(customer.qualifications.all()) if qualifications is None else list(qualifications)
    valid_kinds = {q.kind for q in held if q.is_valid_on(day)}
    expired = {q.kind: q for q in held if not q.is_valid_on(day)}
    problems = []

    def require(kinds, label):
        if valid_kinds.intersection(kinds):
            return
        lapsed = [expired[kind] for kind in kinds if kind in expired]
        if lapsed:
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
