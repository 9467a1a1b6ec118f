"""The JSON API at /api/v1/ (OpenAPI document at /api/v1/openapi.json)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from gerbang.accounts.api import router as accounts_router
from gerbang.applications.api import router as applications_router
from gerbang.appointments.api import router as appointments_router
from gerbang.audit.api import router as audit_router
from gerbang.channel.api import router as channel_router
from gerbang.core.api import router as core_router
from gerbang.core.api_types import ObjectBodyParser
from gerbang.core.errors import FieldError, ServiceUnavailable
from gerbang.organisation.api import router as organisation_router
from gerbang.supervision.api import router as feedback_router
from gerbang.tariffs.api import router as tariffs_router
from gerbang.visas.api import router as visas_router
from gerbang.visits.api import router as visits_router

api = NinjaAPI(
    title="Gerbang API",
    version="1",
    description="Immigration services online: passports, visas and stay permits.",
    urls_namespace="api",
    parser=ObjectBodyParser(),
)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        detail = [{"loc": ["body", field], "msg": " ".join(msgs)} for field, msgs in exc.message_dict.items()]
    else:
        detail = [{"loc": ["body"], "msg": " ".join(exc.messages)}]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(FieldError)
def field_error(request: HttpRequest, exc: FieldError) -> HttpResponse:
    return api.create_response(
        request, {"detail": [{"loc": [exc.location, exc.field], "msg": exc.message}]}, status=422
    )


@api.exception_handler(ServiceUnavailable)
def service_unavailable(request: HttpRequest, exc: ServiceUnavailable) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.message}, status=503)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(MultiPartParserError)
def bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return api.create_response(
        request, {"detail": [{"loc": ["body"], "msg": f"Malformed multipart body: {exc}"}]}, status=400
    )


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "Authentication required."}, status=401)


api.add_router("/", core_router)
api.add_router("/", tariffs_router)
api.add_router("/", organisation_router)
api.add_router("/", accounts_router)
api.add_router("/", audit_router)
api.add_router("/", applications_router)
api.add_router("/", appointments_router)
api.add_router("/", visits_router)
api.add_router("/", channel_router)
api.add_router("/visas", visas_router)
api.add_router("/feedback/", feedback_router)
