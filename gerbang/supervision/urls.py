"""Pages of the supervision app. config/urls.py includes ``public_urlpatterns`` in the "public" namespace and
``staff_urlpatterns`` in the "staff" one (under /staf/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import dashboard_views, feedback_views, report_views, signal_views, transparency_views

public_urlpatterns: list[URLPattern] = [
    # Anonymous whistle-blowing: every path under /lapor/ keeps no address, browser or cookie (ANONYMOUS_PATHS).
    path("lapor/", report_views.new_report, name="report_new"),
    path("lapor/lacak/", report_views.follow_report, name="report_follow"),
    # The one-tap question after a counter visit (the link in the notification carries the token).
    path("umpan-balik/<str:token>/", feedback_views.answer, name="visit_feedback"),
    path("transparansi/", transparency_views.index, name="transparency"),
    path("transparansi/data.csv", transparency_views.all_csv, name="transparency_csv"),
    path("transparansi/data.json", transparency_views.all_json, name="transparency_json"),
    path("transparansi/<slug:code>/", transparency_views.office, name="transparency_office"),
    path("transparansi/<slug:code>.csv", transparency_views.office_csv, name="transparency_office_csv"),
    path("transparansi/<slug:code>.json", transparency_views.office_json, name="transparency_office_json"),
]

staff_urlpatterns: list[URLPattern] = [
    path("pengawasan/", dashboard_views.overview, name="supervision"),
    path("pengawasan/divisi/<str:province_code>/", dashboard_views.division, name="supervision_division"),
    path("pengawasan/kantor/<slug:code>/", dashboard_views.office, name="supervision_office"),
    path("pengawasan/kantor/<slug:code>/loket/", dashboard_views.counters, name="supervision_counters"),
    path(
        "pengawasan/kantor/<slug:code>/petugas/<int:officer_id>/", dashboard_views.officer, name="supervision_officer"
    ),
    path("pengawasan/sinyal/", signal_views.signal_list, name="signals"),
    path("pengawasan/sinyal/<int:pk>/", signal_views.signal_detail, name="signal"),
    path(
        "pengawasan/sinyal/<int:pk>/bukti/<slug:kind>/<int:ref>/", signal_views.evidence_detail, name="signal_evidence"
    ),
    path("pengawasan/laporan/", report_views.report_list, name="reports"),
    path("pengawasan/laporan/<str:code>/", report_views.report_detail, name="report"),
]
