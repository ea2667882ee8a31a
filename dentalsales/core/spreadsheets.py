"""Excel export shared by every list page."""

import datetime
import logging
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

logger = logging.getLogger(__name__)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell_value(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, (int, Decimal, datetime.date)) or value is None:
        return value
    return str(value)


def build_workbook(title, headers, rows):
    """Return a workbook with one sheet: a bold header row, then ``rows``.

    Strings stay text, so codes and phone numbers keep leading zeros;
    Decimals stay numbers with two decimals shown.
    """
    workbook = Workbook(write_only=False)
    _fill_sheet(workbook.active, title, headers, rows)
    return workbook


def append_sheet(workbook, title, headers, rows):
    """Add a sheet to ``workbook`` laid out like ``build_workbook``'s; return it."""
    return _fill_sheet(workbook.create_sheet(), title, headers, rows)


def _fill_sheet(sheet, title, headers, rows):
    sheet.title = str(title)[:31]
    sheet.append([str(header) for header in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(header)) * 2 + 2 for header in headers]
    for row in rows:
        values = [_cell_value(value) for value in row]
        sheet.append(values)
        for index, value in enumerate(values):
            cell = sheet.cell(row=sheet.max_row, column=index + 1)
            if isinstance(value, str):
                cell.number_format = "@"
            elif isinstance(value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
            widths[index] = min(max(widths[index], len(str(value or "")) + 2), 60)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def xlsx_response(filename, title, headers, rows):
    """Return an HTTP attachment ``<filename>-<date>.xlsx`` with the rows."""
    return workbook_response(filename, build_workbook(title, headers, rows))


def workbook_response(filename, workbook):
    """Return an HTTP attachment ``<filename>-<date>.xlsx`` holding ``workbook``."""
    response = HttpResponse(content_type=XLSX_CONTENT_TYPE)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.xlsx"'
    workbook.save(response)
    return response
