from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dentalsales.core.views import paginate

from . import selectors, services


@login_required
def notification_list(request):
    unread_only = request.GET.get("unread") == "1"
    page = paginate(request, selectors.notifications_for(request.user, unread_only=unread_only))
    return render(request, "notifications/list.html", {"page": page, "unread_only": unread_only})


@login_required
def badge(request):
    """Render the navbar bell; loaded by htmx after the page so list pages keep their query count."""
    return render(request, "notifications/_badge.html", {"unread": selectors.unread_count(request.user)})


@login_required
@require_POST
def open_notification(request, pk):
    notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
    services.mark_read(notification=notification, actor=request.user)
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("notifications:list")


@login_required
@require_POST
def mark_all_read(request):
    services.mark_all_read(actor=request.user)
    return redirect("notifications:list")
