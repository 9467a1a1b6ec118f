"""Pages of the visas app. config/urls.py includes ``applicant_urlpatterns`` under /visa/ (namespace "visas"),
``staff_urlpatterns`` in the "staff" namespace under /staf/, and ``public_urlpatterns`` in the "public" one."""

from __future__ import annotations

from django.urls import URLPattern, path

from gerbang.channel import views as channel_views

from . import staff_views, views

applicant_urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("daftar/", views.register_account, name="register_account"),
    path("penjamin/daftar/", views.register_sponsor, name="register_sponsor"),
    path("orang-asing/tambah/", views.add_foreigner, name="add_foreigner"),
    path("orang-asing/<uuid:public_id>/", views.foreigner, name="foreigner"),
    path("orang-asing/<uuid:public_id>/permohonan/", views.new_application, name="new_application"),
    path("permohonan/<uuid:public_id>/", views.application, name="application"),
    path("permohonan/<uuid:public_id>/pesan/", channel_views.visa_messages_page, name="messages"),
    path("permohonan/<uuid:public_id>/dokumen/<int:document_id>/", views.document, name="document"),
    path("izin/<str:number>.pdf", views.permit_pdf, name="permit_pdf"),
]

staff_urlpatterns: list[URLPattern] = [
    path("visa/kasus/<str:reference>/", staff_views.case, name="visa_case"),
    path("visa/kasus/<str:reference>/dokumen/<int:document_id>/", staff_views.document, name="visa_document"),
    path("visa/daftar-tangkal/", staff_views.deny_list, name="deny_list"),
    path("visa/katalog/", staff_views.catalogue, name="visa_catalogue"),
    path("visa/katalog/<slug:code>/", staff_views.catalogue_edit, name="visa_catalogue_edit"),
    path("visa/izin-tinggal/", staff_views.stays, name="stays"),
]

public_urlpatterns: list[URLPattern] = [
    path("visa/katalog/", views.catalogue, name="visa_catalogue"),
    path("izin/periksa/", views.verify_permit, name="permit_verify"),
]
