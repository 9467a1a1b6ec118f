"""Staff pages of the duty roster, included by config/urls.py in the "staff" namespace, under /staf/."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

staff_urlpatterns: list[URLPattern] = [
    path("kantor/<slug:code>/jadwal-tugas/", views.roster, name="duty_roster"),
    path("kantor/<slug:code>/loker/", views.lockers, name="duty_lockers"),
    path("kantor/<slug:code>/sidak/", views.spot_checks, name="spot_checks"),
    path("loket/sesi/", views.counter_session, name="counter_session"),
]
