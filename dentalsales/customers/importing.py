"""Spreadsheet import of customers, contacts and qualifications: read, preview every row's problems, then import.

An upload is read into an ``crm.ImportJob`` (every row as text, with its
spreadsheet row number) and checked row by row before anything is written.
The user then imports either all rows, which is allowed only when no row
has a problem, or only the valid rows. Rows are written through the
customers services. All rows go in one transaction, so a late failure
leaves nothing written. Only the valid rows go in batches of ``BATCH_SIZE``,
each batch in its own transaction. The job records its progress after each
batch so that a progress bar can poll it.
"""

import csv
import datetime
import io
import logging
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from dentalsales.accounts.roles import SALES_ROLES, Role
from dentalsales.accounts.selectors import assignable_owners
from dentalsales.core.errors import DomainError, InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.models import Region
from dentalsales.core.validators import normalize_phone, normalize_uscc, uscc_problem
from dentalsales.crm.models import ImportJob, ImportKind, ImportMode, ImportStatus, ProspectSource

from . import services
from .models import (
    Contact,
    Customer,
    CustomerCategory,
    DecisionRole,
    CustomerGrade,
    CustomerType,
    Qualification,
    QualificationKind,
)
from .selectors import contact_customers, visible_customers

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20000
TRUE_WORDS = {"1", "true", "yes", "y", "是", "√", "x"}
FALSE_WORDS = {"", "0", "false", "no", "n", "否"}


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    required: bool = False
    aliases: tuple = ()
    example: str = ""
    help: object = ""
    # (value, label) pairs the cell accepts; the template lists them and offers them in a drop-down.
    choices: tuple = ()
    # True when the stored values (A, B, C) are what the user types, rather than the labels.
    choice_values: bool = False

    def allowed(self):
        return [str(value if self.choice_values else label) for value, label in self.choices]


COLUMNS = {
    ImportKind.CUSTOMERS: [
        Column("code", gettext_lazy("Customer code"), aliases=("客户编码",), example="CU-CD-0001",
               help=gettext_lazy("Leave empty to number the customer automatically.")),
        Column("name", gettext_lazy("Name"), True, ("客户名称", "名称"), "成都锦江贝瑞口腔门诊部"),
        Column("customer_type", gettext_lazy("Customer type"), True, ("客户类型",), "口腔诊所", choices=CustomerType.choices),
        Column("category", gettext_lazy("Category"), aliases=("客户类别",), example="一般客户",
               help=gettext_lazy("Empty means general customer."), choices=CustomerCategory.choices),
        Column("grade", gettext_lazy("Grade"), aliases=("客户等级", "等级"), example="B",
               help=gettext_lazy("Empty for potential customers; a key or general customer imported without a grade gets one at the next run of the grading rule."),
               choices=CustomerGrade.choices, choice_values=True),
        Column("region", gettext_lazy("Region"), aliases=("区域", "地区"), example="510104",
               help=gettext_lazy("Six-digit division code, the full name such as 四川省 成都市 锦江区, or city and district such as 成都市锦江区.")),
        Column("address", gettext_lazy("Delivery address"), aliases=("地址", "收货地址"), example="红星路三段 1 号"),
        Column("contact_name", gettext_lazy("Receiving contact"), aliases=("联系人", "收货联系人"), example="李护士长"),
        Column("contact_phone", gettext_lazy("Contact phone"), aliases=("联系电话",), example="13800138000",
               help=gettext_lazy("Mobile number, or landline with area code such as 028-85551234.")),
        Column("uscc", gettext_lazy("Unified social credit code"), aliases=("统一社会信用代码", "信用代码"), example="91510104MA6CK1234L"),
        Column("uscc_override_reason", gettext_lazy("Reason for accepting a code that fails the check"),
               aliases=("校验失败原因",)),
        Column("owner", gettext_lazy("Sales representative (user name)"), aliases=("销售代表", "业务员"),
               help=gettext_lazy("Empty means yourself.")),
    ],
    ImportKind.CONTACTS: [
        Column("customer_code", gettext_lazy("Customer code"), True, ("客户编码",), "CU-CD-0001"),
        Column("name", gettext_lazy("Contact name"), True, ("姓名", "联系人"), "张伟"),
        Column("title", pgettext_lazy("contact", "Job title"), aliases=("职务", "Title"), example="院长"),
        Column("department", gettext_lazy("Department"), aliases=("科室", "部门"), example="修复科"),
        Column("mobile", gettext_lazy("Mobile"), aliases=("手机", "手机号"), example="13912345678"),
        Column("phone", gettext_lazy("Phone"), aliases=("电话", "座机"), example="028-85551234"),
        Column("email", gettext_lazy("E-mail"), aliases=("邮箱", "电子邮件")),
        Column("wechat", gettext_lazy("WeChat"), aliases=("微信",)),
        Column("birthday", gettext_lazy("Birthday"), aliases=("生日",), example="1980-05-20"),
        Column("decision_role", gettext_lazy("Decision role"), aliases=("决策角色",), example="决策人",
               help=gettext_lazy("Empty means other."), choices=DecisionRole.choices),
        Column("is_primary", gettext_lazy("Primary contact"), aliases=("主要联系人",), example="是"),
        Column("note", gettext_lazy("Note"), aliases=("备注",)),
    ],
    ImportKind.QUALIFICATIONS: [
        Column("customer_code", gettext_lazy("Customer code"), True, ("客户编码",), "CU-CD-0001"),
        Column("kind", gettext_lazy("Kind"), True, ("资质类型", "类型"), "医疗机构执业许可证", choices=QualificationKind.choices),
        Column("number", gettext_lazy("Number"), True, ("证号", "编号"), "PDY00012351010417A1002"),
        Column("issuing_authority", gettext_lazy("Issuing authority"), aliases=("发证机关",), example="成都市锦江区卫生健康局"),
        Column("valid_until", gettext_lazy("Valid until"), aliases=("有效期至",), example="2029-12-31",
               help=gettext_lazy("Empty for a licence without an end date.")),
        Column("device_classes", gettext_lazy("Device classes covered"), aliases=("经营类别", "器械类别"), example="II,III",
               help=gettext_lazy("I, II or III, separated by commas; empty means no limit.")),
        Column("categories", gettext_lazy("Categories covered"), aliases=("涵盖的产品类别", "产品类别"), example="",
               help=gettext_lazy("Product category codes or names, separated by commas; empty means no limit.")),
        Column("covers_drugs", gettext_lazy("Covers drugs"), aliases=("含药品",), example="否",
               help=gettext_lazy("是 or 否; empty means no.")),
    ],
}
KIND_ROLES = {
    ImportKind.CUSTOMERS: SALES_ROLES,
    ImportKind.CONTACTS: SALES_ROLES,
    ImportKind.QUALIFICATIONS: services.DOCUMENT_ROLES,
}


def importable_kinds(user):
    """Return the ``ImportKind`` choices that ``user`` may import, as (value, label) pairs."""
    return [(value, label) for value, label in ImportKind.choices if user.has_role(*KIND_ROLES[value])]


# --- Reading ------------------------------------------------------------------------------------------------


def cell_text(value):
    """Return a spreadsheet cell as text: whole numbers without ``.0`` or exponent, dates as ``YYYY-MM-DD``.

    A number typed into a cell formatted as a number has already lost its
    leading zeros in the file. The template formats every cell as text, so
    this does not happen to files made from it.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


def decode_csv(data):
    """Decode CSV bytes as UTF-8 (with or without BOM), else as GB 18030, the superset of GBK that Chinese Excel saves."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InvalidInput(
            _("The file is neither UTF-8 nor GBK text; save it from Excel as CSV (UTF-8) or as .xlsx."), field="file"
        ) from None


class Table(list):
    """Numbered rows of an upload; ``sheet`` names the worksheet read from a workbook."""

    sheet = ""


def read_table(name, data, kind=None):
    """Return the rows of an uploaded .xlsx or .csv file as lists of text, blank rows left out, with their row numbers.

    From a workbook, the sheet named like ``kind`` (such as 联系人) is read
    when there is one, else the first sheet.
    """
    lower = (name or "").lower()
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            _("The file is larger than %(size)d MB; split it into several files.") % {"size": MAX_UPLOAD_BYTES // 1024 // 1024},
            field="file",
        )
    sheet = ""
    if lower.endswith(".xlsx"):
        rows, sheet = _read_xlsx(data, kind)
    elif lower.endswith(".csv"):
        text = decode_csv(data)
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise InvalidInput(_("“%(value)s” is not an .xlsx or .csv file.") % {"value": name}, field="file")
    numbered = [(index, row) for index, row in enumerate(rows, start=1) if any(cell for cell in row)]
    if len(numbered) - 1 > MAX_ROWS:
        raise InvalidInput(
            _("The file has more than %(max)d rows; split it into several files.") % {"max": MAX_ROWS}, field="file"
        )
    table = Table(numbered)
    table.sheet = sheet
    return table


def _sheet_for(workbook, kind):
    if kind in ImportKind.values:
        wanted = set()
        for language in ("en", "zh-hans"):
            with translation.override(language):
                wanted.add(str(ImportKind(kind).label).strip().lower())
        for sheet in workbook.worksheets:
            if sheet.title.strip().lower() in wanted:
                return sheet
    return workbook.worksheets[0]


def _read_xlsx(data, kind=None):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from zipfile import BadZipFile

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError):
        raise InvalidInput(_("The file cannot be read as an .xlsx workbook."), field="file") from None
    try:
        sheet = _sheet_for(workbook, kind)
        return [[cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)], sheet.title
    finally:
        workbook.close()


def _header_key(text):
    return str(text).replace("*", "").replace("＊", "").strip().lower()


def _column_names(column):
    names = {column.key, _header_key(column.label), *(_header_key(alias) for alias in column.aliases)}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            names.add(_header_key(column.label))
    return names


def map_header(kind, header):
    """Return ``{column key: cell index}`` for a header row; raise ``InvalidInput`` naming missing required columns."""
    columns = COLUMNS[kind]
    positions = {}
    for index, text in enumerate(header):
        key = _header_key(text)
        for column in columns:
            if column.key not in positions and key in _column_names(column):
                positions[column.key] = index
                break
    missing = [str(column.label) for column in columns if column.required and column.key not in positions]
    if missing:
        raise InvalidInput(
            _("The first row must name the columns; these required columns are missing: %(columns)s.")
            % {"columns": "、".join(missing)},
            field="file",
        )
    return positions


# --- Checking rows ------------------------------------------------------------------------------------------


normalize_name = services.normalize_name


def _choice(choices, text):
    """Return the stored value of a choice given by value, English label or Chinese label; None if none matches."""
    text = (text or "").strip()
    lowered = text.lower()
    for stored, label in choices:
        if lowered == str(stored).lower():
            return stored
        for language in ("en", "zh-hans"):
            with translation.override(language):
                if text == str(label) or lowered == str(label).lower():
                    return stored
    return None


def _choices_text(choices):
    return "、".join(str(label) for _value, label in choices)


@dataclass
class Context:
    """Database lookups for checking a batch of rows, loaded once per batch."""

    actor: object
    regions_by_code: dict = field(default_factory=dict)
    regions_by_name: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)
    usccs: dict = field(default_factory=dict)
    codes: set = field(default_factory=set)
    owners: dict = field(default_factory=dict)
    customers: dict = field(default_factory=dict)
    existing_contacts: set = field(default_factory=set)
    existing_qualifications: set = field(default_factory=set)
    categories: dict = field(default_factory=dict)
    # Qualifications written in this batch per customer id, announced once per customer at its end.
    pending: dict = field(default_factory=dict)


def _load_regions(context):
    for region in Region.objects.only("pk", "code", "name", "full_name", "level"):
        context.regions_by_code[region.code] = region
        for name in {region.full_name, region.full_name.replace(" ", "")}:
            context.regions_by_name.setdefault(name, []).append(region)
        context.regions_by_name.setdefault(region.name, []).append(region)
        parts = region.full_name.split()
        if len(parts) >= 3:
            # The short form people write: city and district, such as 杭州市余杭区.
            for name in {"".join(parts[-2:]), " ".join(parts[-2:])}:
                context.regions_by_name.setdefault(name, []).append(region)


def _build_context(kind, actor, value_rows):
    context = Context(actor=actor)
    if kind == ImportKind.CUSTOMERS:
        _load_regions(context)
        for pk, code, name, uscc in Customer.objects.values_list("pk", "code", "name", "uscc"):
            context.names.setdefault(normalize_name(name), code)
            if uscc:
                context.usccs[uscc] = code
            context.codes.add(code)
        context.owners = {user.username.lower(): user for user in assignable_owners(actor)}
        return context
    codes = {values.get("customer_code", "") for values in value_rows}
    allowed = contact_customers(actor) if kind == ImportKind.CONTACTS else visible_customers(actor)
    context.customers = {customer.code: customer for customer in allowed.filter(code__in=codes)}
    if kind == ImportKind.QUALIFICATIONS:
        from dentalsales.catalog.models import Category

        for category in Category.objects.only("pk", "code", "name"):
            context.categories.setdefault(category.code.lower(), category)
            context.categories.setdefault(category.name.lower(), category)
    if kind == ImportKind.CONTACTS:
        for customer_id, name, mobile in Contact.objects.filter(customer__in=context.customers.values()).values_list(
            "customer_id", "name", "mobile"
        ):
            context.existing_contacts.add((customer_id, mobile or name))
    else:
        for customer_id, kind_value, number in Qualification.objects.filter(
            customer__in=context.customers.values()
        ).values_list("customer_id", "kind", "number"):
            context.existing_qualifications.add((customer_id, kind_value, number.strip().upper()))
    return context


def _missing(columns, values):
    return [
        _("%(column)s is missing.") % {"column": column.label}
        for column in columns
        if column.required and not values.get(column.key)
    ]


def _resolve_region(context, text):
    compact = text.replace(" ", "")
    if compact.isdigit():
        return context.regions_by_code.get(compact), False
    matches = context.regions_by_name.get(text) or context.regions_by_name.get(compact) or []
    unique = {region.pk: region for region in matches}
    if len(unique) == 1:
        return next(iter(unique.values())), False
    return None, len(unique) > 1


def check_customer_row(values, context):
    """Return ``(arguments for create_customer, problems)`` of one customer row."""
    problems = _missing(COLUMNS[ImportKind.CUSTOMERS], values)
    arguments = {
        "code": values.get("code", ""),
        "name": values.get("name", ""),
        "address": values.get("address", ""),
        "contact_name": values.get("contact_name", ""),
        "uscc_override_reason": values.get("uscc_override_reason", ""),
    }
    if arguments["code"] and arguments["code"] in context.codes:
        problems.append(_("Customer code “%(value)s” is already used.") % {"value": arguments["code"]})

    type_text = values.get("customer_type", "")
    if type_text:
        arguments["customer_type"] = _choice(CustomerType.choices, type_text)
        if arguments["customer_type"] is None:
            problems.append(
                _("Customer type “%(value)s” is unknown; use one of: %(choices)s.")
                % {"value": type_text, "choices": _choices_text(CustomerType.choices)}
            )
    category_text = values.get("category", "")
    arguments["category"] = _choice(CustomerCategory.choices, category_text) if category_text else CustomerCategory.GENERAL
    if arguments["category"] is None:
        problems.append(
            _("Category “%(value)s” is unknown; use one of: %(choices)s.")
            % {"value": category_text, "choices": _choices_text(CustomerCategory.choices)}
        )
    grade_text = values.get("grade", "").upper().replace("级", "")
    arguments["grade"] = grade_text or None
    if grade_text and grade_text not in CustomerGrade.values:
        problems.append(_("Grade “%(value)s” is unknown; use A, B or C.") % {"value": values.get("grade")})

    region_text = values.get("region", "")
    arguments["region"] = None
    if region_text:
        region, ambiguous = _resolve_region(context, region_text)
        if region is None:
            message = (
                _("Region “%(value)s” matches several places; give its six-digit code or its full name.")
                if ambiguous
                else _("Region “%(value)s” is unknown; give its six-digit code or its full name such as 四川省 成都市 锦江区.")
            )
            problems.append(message % {"value": region_text})
        arguments["region"] = region

    arguments["contact_phone"], phone_problem = services.clean_contact_phone(values.get("contact_phone", ""))
    if phone_problem:
        problems.append(phone_problem)

    uscc = normalize_uscc(values.get("uscc", ""))
    arguments["uscc"] = uscc
    if uscc:
        problem = uscc_problem(uscc)
        if problem == "shape":
            problems.append(
                _("“%(value)s” is not a unified social credit code: it needs 18 digits or capital letters (no I, O, S, V or Z).")
                % {"value": values.get("uscc")}
            )
        elif problem == "check" and not arguments["uscc_override_reason"]:
            problems.append(
                _("The check character of unified social credit code “%(value)s” is wrong; correct it or give the reason "
                  "for accepting it in its column.") % {"value": uscc}
            )
        if uscc in context.usccs:
            problems.append(
                _("Duplicate: unified social credit code %(value)s belongs to customer %(code)s.")
                % {"value": uscc, "code": context.usccs[uscc]}
            )
    normalized = normalize_name(arguments["name"])
    if normalized and normalized in context.names:
        problems.append(
            _("Duplicate: the name “%(value)s” matches customer %(code)s.") % {"value": arguments["name"], "code": context.names[normalized]}
        )

    owner_text = values.get("owner", "")
    arguments["owner"] = context.actor
    if owner_text:
        arguments["owner"] = context.owners.get(owner_text.lower())
        if arguments["owner"] is None and not (context.actor.sees_all_data or context.actor.has_role(Role.SUPERVISOR)):
            problems.append(
                _("Sales representative “%(value)s”: a representative imports customers for themselves only; "
                  "leave the column empty or give your own user name.") % {"value": owner_text}
            )
        elif arguments["owner"] is None:
            problems.append(_("Sales representative “%(value)s” is unknown or not in your team.") % {"value": owner_text})
    return arguments, problems


def check_contact_row(values, context):
    """Return ``(customer, contact fields, problems)`` of one contact row."""
    problems = _missing(COLUMNS[ImportKind.CONTACTS], values)
    customer = context.customers.get(values.get("customer_code", ""))
    if values.get("customer_code") and customer is None:
        problems.append(_("Customer code “%(value)s” is unknown or not yours.") % {"value": values["customer_code"]})
    data = {key: values.get(key, "") for key in services.CONTACT_FIELDS}
    cleaned, errors = services.clean_contact_data(data)
    for name, messages in errors.items():
        if name == "name" and not values.get("name"):
            continue  # Already reported as a missing column value.
        problems.extend(messages)
    if customer is not None and (customer.pk, cleaned["mobile"] or cleaned["name"]) in context.existing_contacts:
        problems.append(
            _("Duplicate: customer %(code)s already has contact %(name)s.") % {"code": customer.code, "name": cleaned["name"]}
        )
    return customer, data, problems


def check_qualification_row(values, context):
    """Return ``(customer, qualification fields, problems)`` of one qualification row."""
    problems = _missing(COLUMNS[ImportKind.QUALIFICATIONS], values)
    customer = context.customers.get(values.get("customer_code", ""))
    if values.get("customer_code") and customer is None:
        problems.append(_("Customer code “%(value)s” is unknown or not yours.") % {"value": values["customer_code"]})
    data = {"number": values.get("number", ""), "issuing_authority": values.get("issuing_authority", "")}

    kind_text = values.get("kind", "")
    data["kind"] = _choice(QualificationKind.choices, kind_text) if kind_text else None
    if kind_text and data["kind"] is None:
        problems.append(
            _("Qualification kind “%(value)s” is unknown; use one of: %(choices)s.")
            % {"value": kind_text, "choices": _choices_text(QualificationKind.choices)}
        )
    valid_text = values.get("valid_until", "")
    data["valid_until"] = None
    if valid_text:
        try:
            data["valid_until"] = services._parse_date(valid_text)
        except ValueError:
            problems.append(_("Valid until “%(value)s” is not a date; use YYYY-MM-DD.") % {"value": valid_text})

    classes_text = values.get("device_classes", "").upper().replace("，", ",").replace("、", ",").replace(" ", ",")
    data["device_classes"] = [part for part in classes_text.split(",") if part]
    wrong = [part for part in data["device_classes"] if part not in ("I", "II", "III")]
    if wrong:
        problems.append(_("Device class “%(value)s” is unknown; use I, II or III.") % {"value": ",".join(wrong)})
    data["categories"] = []
    for part in re.split(r"[,，、;；]", values.get("categories", "")):
        part = part.strip()
        if not part:
            continue
        category = context.categories.get(part.lower())
        if category is None:
            problems.append(_("Product category “%(value)s” is unknown; give its code or its name.") % {"value": part})
        else:
            data["categories"].append(category.pk)
    drugs_text = values.get("covers_drugs", "").strip().lower()
    if drugs_text not in TRUE_WORDS | FALSE_WORDS:
        problems.append(
            _("%(column)s “%(value)s” is not 是 or 否.") % {"column": _("Covers drugs"), "value": values.get("covers_drugs")}
        )
    data["covers_drugs"] = drugs_text in TRUE_WORDS

    if customer is not None and data["kind"] and (
        customer.pk, data["kind"], data["number"].strip().upper()
    ) in context.existing_qualifications:
        problems.append(
            _("Duplicate: customer %(code)s already has qualification %(number)s.") % {"code": customer.code, "number": data["number"]}
        )
    return customer, data, problems


def _file_duplicate_keys(kind, values):
    """Return the keys under which a row counts as a duplicate of an earlier row of the same file."""
    if kind == ImportKind.CUSTOMERS:
        keys = []
        if values.get("uscc"):
            keys.append(("uscc", normalize_uscc(values["uscc"])))
        if values.get("name"):
            keys.append(("name", normalize_name(values["name"])))
        if values.get("code"):
            keys.append(("code", values["code"]))
        return keys
    if kind == ImportKind.CONTACTS:
        return [("contact", values.get("customer_code"), normalize_phone(values.get("mobile")) or values.get("name"))]
    return [("qualification", values.get("customer_code"), values.get("kind"), values.get("number", "").upper())]


CHECKERS = {
    ImportKind.CUSTOMERS: check_customer_row,
    ImportKind.CONTACTS: check_contact_row,
    ImportKind.QUALIFICATIONS: check_qualification_row,
}


def _check_rows(kind, actor, rows):
    """Return ``{row number: [problems]}`` for rows of dicts with ``"row"`` and ``"values"``, including duplicates within them."""
    context = _build_context(kind, actor, [row["values"] for row in rows])
    problems = {}
    seen = {}
    for row in rows:
        number, values = row["row"], row["values"]
        messages = list(CHECKERS[kind](values, context)[-1])
        for key in _file_duplicate_keys(kind, values):
            if key in seen:
                messages.append(_("Duplicate of row %(row)d in this file.") % {"row": seen[key]})
                break
        for key in _file_duplicate_keys(kind, values):
            seen.setdefault(key, number)
        if messages:
            problems[str(number)] = messages
    return problems


# --- Jobs ---------------------------------------------------------------------------------------------------


def _check_role(actor, kind):
    if not actor.has_role(*KIND_ROLES[kind]):
        raise NotPermitted(_("You are not allowed to import %(kind)s.") % {"kind": ImportKind(kind).label})


def create_import_job(*, actor, kind, name, data):
    """Read an uploaded file, check every row and return the job in preview; nothing else is written.

    Raises ``InvalidInput`` on field ``file`` for an unreadable file, a
    wrong type, a missing required column or too many rows.
    """
    if kind not in ImportKind.values:
        raise InvalidInput(_("“%(value)s” is not something that can be imported.") % {"value": kind}, field="kind")
    _check_role(actor, kind)
    table = read_table(name, data, kind)
    if not table:
        raise InvalidInput(_("The file is empty."), field="file")
    (_header_number, header), body = table[0], table[1:]
    try:
        positions = map_header(kind, header)
    except InvalidInput as error:
        if not table.sheet:
            raise
        raise InvalidInput(
            _("Sheet “%(sheet)s”: %(problem)s") % {"sheet": table.sheet, "problem": error}, field="file"
        ) from error
    rows = [
        {"row": number, "values": {key: (cells[index] if index < len(cells) else "") for key, index in positions.items()}}
        for number, cells in body
    ]
    if not rows:
        raise InvalidInput(_("The file has a header row but no data rows."), field="file")

    problems = _check_rows(kind, actor, rows)
    job = ImportJob.objects.create(
        kind=kind, file_name=str(name)[:200], rows=rows, problems=problems, total_rows=len(rows), created_by=actor
    )
    logger.info("Import %s of %s read for user %s: %s rows, %s with problems", job.pk, kind, actor.pk, len(rows), len(problems))
    return job


@transaction.atomic
def start_import(*, actor, job, mode):
    """Choose how to import a previewed job: ``all`` (only when no row has a problem) or ``valid_only``."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.created_by_id != actor.pk:
        raise NotPermitted()
    if job.status != ImportStatus.PREVIEW:
        raise InvalidTransition(_("This import has already been started."))
    if mode not in ImportMode.values:
        raise InvalidInput(_("Choose whether to import all rows or only the valid ones."), field="mode")
    if mode == ImportMode.ALL and job.problems:
        raise InvalidInput(
            _("%(count)d rows have problems, so not all rows can be imported; correct them or import only the valid rows.")
            % {"count": len(job.problems)},
            field="mode",
        )
    if mode == ImportMode.VALID_ONLY and job.valid_row_count == 0:
        raise InvalidInput(_("No row is valid, so there is nothing to import."), field="mode")

    job.mode = mode
    job.status = ImportStatus.RUNNING
    job.save(update_fields=["mode", "status"])
    return job


def _write_row(kind, actor, values, context):
    """Check one row against the database as it is now and write it; return the new row's key."""
    if kind == ImportKind.CUSTOMERS:
        arguments, problems = check_customer_row(values, context)
        if problems:
            raise InvalidInput(problems[0])
        # The row check above compared the name with every customer already.
        customer = services.create_customer(
            actor=actor, prospect_source=ProspectSource.IMPORT, allow_duplicate_name=True, require_grade=False, **arguments
        )
        context.codes.add(customer.code)
        context.names.setdefault(normalize_name(customer.name), customer.code)
        if customer.uscc:
            context.usccs[customer.uscc] = customer.code
        return customer.pk
    if kind == ImportKind.CONTACTS:
        customer, data, problems = check_contact_row(values, context)
        if problems:
            raise InvalidInput(problems[0])
        contact = services.create_contact(actor=actor, customer=customer, **data)
        context.existing_contacts.add((customer.pk, contact.mobile or contact.name))
        return contact.pk
    customer, data, problems = check_qualification_row(values, context)
    if problems:
        raise InvalidInput(problems[0])
    qualification = services.add_qualification(actor=actor, customer=customer, announce=False, **data)
    context.existing_qualifications.add((customer.pk, data["kind"], data["number"].strip().upper()))
    context.pending.setdefault(customer.pk, (customer, []))[1].append(qualification)
    return qualification.pk


class _RowFailed(Exception):
    """A row of an all-or-none import failed; raised to roll the whole import back."""

    def __init__(self, row, message):
        super().__init__(message)
        self.row = row
        self.message = message


def _lock_running_job(actor, job):
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.created_by_id != actor.pk:
        raise NotPermitted()
    return job


def _import_rows(job, actor, rows):
    """Write ``rows`` of ``job`` and record each outcome on the job; raise ``_RowFailed`` in mode all."""
    context = _build_context(job.kind, actor, [row["values"] for row in rows])
    for row in rows:
        number = str(row["row"])
        if number in job.problems:
            job.skipped_rows.append(row["row"])
            continue
        try:
            with transaction.atomic():
                created = _write_row(job.kind, actor, row["values"], context)
        except DomainError as error:
            if job.mode == ImportMode.ALL:
                raise _RowFailed(row["row"], str(error)) from error
            job.problems[number] = [str(error)]
            job.skipped_rows.append(row["row"])
            continue
        job.imported_rows.append(row["row"])
        job.created_ids.append(created)
    for customer, qualifications in context.pending.values():
        services.announce_pending(customer, qualifications)


def _finish(job):
    job.status = ImportStatus.DONE
    job.finished_at = timezone.now()
    job.save()
    logger.info("Import %s done: %s rows imported, %s skipped", job.pk, len(job.imported_rows), len(job.skipped_rows))


def run_import_step(*, actor, job, batch_size=BATCH_SIZE):
    """Import the next part of a running job and return the job; the progress page calls this until the job ends.

    Mode ``valid_only`` imports ``batch_size`` rows per call, each batch in
    one transaction, and keeps every row that can be written. Mode ``all``
    imports every row in a single transaction. A row that fails now (for
    example because someone created the same customer since the preview)
    rolls back all rows, so the import writes nothing. The job then ends as
    failed and names that row. The job row stays locked while a step runs, so
    two polling requests never import the same rows.
    """
    try:
        with transaction.atomic():
            job = _lock_running_job(actor, job)
            if job.status != ImportStatus.RUNNING:
                return job
            if job.mode == ImportMode.ALL:
                _import_rows(job, actor, job.rows)
                job.processed_rows = job.total_rows
                _finish(job)
                return job

            start = job.processed_rows
            batch = job.rows[start:start + batch_size]
            _import_rows(job, actor, batch)
            job.processed_rows = start + len(batch)
            if job.processed_rows >= job.total_rows:
                _finish(job)
            else:
                job.save()
            return job
    except _RowFailed as failure:
        return _fail(actor, job, failure)


@transaction.atomic
def _fail(actor, job, failure):
    """Mark an all-or-none job failed at ``failure.row``; its rows were rolled back with the transaction."""
    job = _lock_running_job(actor, job)
    if job.status != ImportStatus.RUNNING:
        return job
    job.problems[str(failure.row)] = [failure.message]
    job.error = _("Row %(row)d could not be imported, so no row was imported: %(reason)s") % {
        "row": failure.row, "reason": failure.message,
    }
    job.processed_rows = job.total_rows
    job.skipped_rows = [row["row"] for row in job.rows]
    job.imported_rows = []
    job.created_ids = []
    job.status = ImportStatus.FAILED
    job.finished_at = timezone.now()
    job.save()
    logger.warning("Import %s failed at row %s and was rolled back", job.pk, failure.row)
    return job


def run_import(*, actor, job, batch_size=BATCH_SIZE):
    """Run a started job to the end in this process, batch by batch; for commands and tests."""
    job = ImportJob.objects.get(pk=job.pk)
    while job.status == ImportStatus.RUNNING:
        job = run_import_step(actor=actor, job=job, batch_size=batch_size)
    return job


@transaction.atomic
def cancel_import(*, actor, job):
    """Drop a job still in preview; nothing was written."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.created_by_id != actor.pk:
        raise NotPermitted()
    if job.status != ImportStatus.PREVIEW:
        raise InvalidTransition(_("This import has already been started."))
    job.status = ImportStatus.CANCELLED
    job.save(update_fields=["status"])
    return job


# --- Template and report ------------------------------------------------------------------------------------


def template_workbook(kind):
    """Return a workbook to fill in: the header row, one example row and a sheet explaining each column.

    Every cell of the first sheet is formatted as text so that Excel keeps
    codes and phone numbers as typed (leading zeros, no ``1.38E+10``).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = COLUMNS[kind]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(ImportKind(kind).label)[:31]
    sheet.append([f"{column.label}{' *' if column.required else ''}" for column in columns])
    sheet.append([column.example for column in columns])
    for index, column in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(14, len(str(column.label)) * 2 + 4)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        for row in range(2, 2001):
            sheet.cell(row=row, column=index).number_format = "@"
        if column.choices:
            # A drop-down list that still lets the user type, since the importer also accepts values and English labels.
            listing = ",".join(column.allowed())
            validation = DataValidation(type="list", formula1=f'"{listing}"', allow_blank=True, showErrorMessage=False)
            validation.add(f"{letter}2:{letter}2000")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet(_("Notes")[:31])
    notes.append([_("Column"), _("Required"), _("What to enter"), _("Allowed values")])
    for column in columns:
        notes.append([
            str(column.label), _("Yes") if column.required else _("No"), str(column.help or ""), "、".join(column.allowed()),
        ])
    notes.append([])
    notes.append([_("Delete the example row before uploading. Upload .xlsx, or .csv saved as UTF-8 or GBK.")])
    return workbook


def created_records(job):
    """Return ``{row number: text naming the record it created}``: the customer code, or the contact or qualification."""
    ids = dict(zip(job.imported_rows, job.created_ids))
    if not ids:
        return {}
    if job.kind == ImportKind.CUSTOMERS:
        names = dict(Customer.objects.filter(pk__in=ids.values()).values_list("pk", "code"))
    elif job.kind == ImportKind.CONTACTS:
        names = {contact.pk: f"{contact.customer.code} {contact.name}" for contact in
                 Contact.objects.filter(pk__in=ids.values()).select_related("customer")}
    else:
        names = {q.pk: f"{q.customer.code} {q.number}" for q in
                 Qualification.objects.filter(pk__in=ids.values()).select_related("customer")}
    return {row: names.get(pk, "") for row, pk in ids.items()}


def report_rows(job):
    """Return the rows of the outcome report: every data row with its number, outcome, what it created, problems and values."""
    imported = set(job.imported_rows)
    created = created_records(job)
    headers = [_("Row"), _("Outcome"), _("Created record"), _("Problems")] + [str(column.label) for column in COLUMNS[job.kind]]
    rows = []
    for row in job.rows:
        number = row["row"]
        if number in imported:
            outcome = _("Imported")
        elif job.status in (ImportStatus.DONE, ImportStatus.FAILED):
            outcome = _("Not imported")
        else:
            outcome = _("Has problems") if str(number) in job.problems else _("Valid")
        rows.append(
            [number, outcome, created.get(number, ""), "; ".join(job.problems.get(str(number), []))]
            + [row["values"].get(column.key, "") for column in COLUMNS[job.kind]]
        )
    return headers, rows
