"""Shared plumbing of the HTML views: login, refusal pages, htmx detection, cursors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from patron.accounts.models import User
from patron.contacts.selectors import custom_fields_for, custom_values_of
from patron.core.api_base import decode_cursor, encode_cursor
from patron.core.permissions import PermissionDenied

View = Callable[..., HttpResponse]


class AuthedRequest(HttpRequest):
    """A request of a logged-in user (``web_view`` guarantees it)."""

    user: User


def web_view(section: str) -> Callable[[View], View]:
    """Login required; a service's or selector's PermissionDenied becomes the 403 page.

    Out-of-scope records raise Http404 in the selectors, which Django renders as 404.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.nav_section = section  # type: ignore[attr-defined]
            try:
                response = view(request, *args, **kwargs)
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(exc.message) from exc
            patch_vary_headers(response, ["HX-Request"])
            return response

        return login_required(wrapper)

    return decorate


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (not a history restore, which needs a page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def page_cursor(kind: str, values: list[Any]) -> str:
    """An opaque cursor bound to the ordering it was made for."""
    return encode_cursor([kind, *values])


def cursor_values(raw: str | None, kind: str) -> list[Any] | None:
    """The keyset values of a cursor, or None for a missing, broken or foreign cursor."""
    if not raw:
        return None
    try:
        values = decode_cursor(raw[:500])
    except ValidationError:
        return None
    if len(values) < 2 or values[0] != kind:
        return None
    return values[1:]


def custom_rows(actor: Any, obj: Any, entity: str) -> list[dict[str, Any]]:
    """(label, type, value) of every custom field of an entity, masked where needed."""
    values = custom_values_of(actor, obj)
    return [
        {"label": cf.label, "type": cf.type, "value": values.get(cf.key)}
        for cf in custom_fields_for(entity)
    ]


def service_form_page(
    request: HttpRequest,
    form: Any,
    *,
    save: Callable[[dict[str, Any]], Any],
    done: Callable[[Any, dict[str, Any]], HttpResponse],
    context: dict[str, Any],
) -> HttpResponse:
    """A create/edit page: on a valid POST, ``save(data)`` calls the service.

    The service's field errors land on the form (422, nothing written); on success
    ``done(result, data)`` answers (usually a redirect with a message).
    """
    if request.method == "POST" and form.is_valid():
        data = form.to_service_data()
        try:
            result = save(data)
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        else:
            return done(result, data)
    return render(
        request,
        "web/form_page.html",
        {"form": form, **context},
        status=422 if form.errors else 200,
    )
