from functools import wraps

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .forms import LoginForm
from .selectors import dashboard_counts


def role_required(*roles):
    """Admit a signed-in user with one of ``roles``, answer others with 403 and send anonymous users to the login page.

    The service behind the view checks the role again. This check only
    spares the user a form they could never submit.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not request.user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_required
def home(request):
    return render(request, "accounts/home.html", {"counts": dashboard_counts(request.user)})
