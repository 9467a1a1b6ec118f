from django.urls import include, path
from django.views.i18n import set_language

from config.api import api
from gerbang.accounts import password_reset, security_keys, staff_views
from gerbang.accounts import views as account_views
from gerbang.applications import staff_views as application_staff_views
from gerbang.applications import views as application_views
from gerbang.appointments import staff_views as appointment_staff_views
from gerbang.appointments import views as appointment_views
from gerbang.casework import views as casework_views
from gerbang.channel import urls as channel_urls
from gerbang.core import views as core_views
from gerbang.duty import urls as duty_urls
from gerbang.identity import views as identity_views
from gerbang.organisation import views as organisation_views
from gerbang.payments import bank_api
from gerbang.payments import staff_views as payment_staff_views
from gerbang.payments import views as payment_views
from gerbang.public import views as public_views
from gerbang.supervision import urls as supervision_urls
from gerbang.tariffs import views as tariff_views
from gerbang.visas import border_api
from gerbang.visas import urls as visa_urls
from gerbang.visits import staff_views as visit_staff_views
from gerbang.visits import views as visit_views

public_patterns = (
    [
        path("", public_views.home, name="home"),
        path("tarif/", public_views.tariffs, name="tariffs"),
        path("kanal-resmi/", public_views.official_channels, name="official_channels"),
        path("kuitansi/<str:ntpn>/<str:billing_code>/", payment_views.verify, name="receipt_verify"),
        path("undian/<str:public_id>/", appointment_views.draw_page, name="draw"),
        path("undian/<str:public_id>.json", appointment_views.draw_json, name="draw_json"),
        path("antrean/tiket/<str:ticket>/", visit_views.ticket, name="queue_ticket"),
        path("antrean/<slug:code>/", visit_views.display, name="queue_display"),
        path("antrean/<slug:code>.json", visit_views.display_json, name="queue_display_json"),
        *visa_urls.public_urlpatterns,
        *supervision_urls.public_urlpatterns,
    ],
    "public",
)

account_patterns = (
    [
        path("daftar/", account_views.register, name="register"),
        path("verifikasi/<str:token>/", account_views.verify_email, name="verify_email"),
        path("masuk/", account_views.sign_in, name="login"),
        path("keluar/", account_views.sign_out, name="logout"),
        path("lupa-sandi/", password_reset.RequestReset.as_view(), name="password_reset"),
        path("lupa-sandi/terkirim/", password_reset.ResetSent.as_view(), name="password_reset_done"),
        path(
            "atur-ulang-sandi/<uidb64>/<token>/",
            password_reset.SetNewPassword.as_view(),
            name="password_reset_confirm",
        ),
        path("atur-ulang-sandi/selesai/", password_reset.ResetComplete.as_view(), name="password_reset_complete"),
        path("", account_views.home, name="home"),
        path("staf/masuk/", account_views.staff_sign_in, name="staff_login"),
        path("staf/verifikasi/", account_views.staff_verify, name="staff_verify"),
        *channel_urls.account_urlpatterns,
    ],
    "accounts",
)

staff_patterns = (
    [
        path("", staff_views.dashboard, name="dashboard"),
        path("akun/", staff_views.account_list, name="account_list"),
        path("akun/<int:pk>/", staff_views.account_detail, name="account_detail"),
        path("hak-akses/", staff_views.grant_queue, name="grant_queue"),
        path("hak-akses/<int:pk>/putuskan/", staff_views.grant_decide, name="grant_decide"),
        path("kantor/<slug:code>/pegawai/", organisation_views.office_staff, name="office_staff"),
        path("kantor/<slug:code>/loket/", organisation_views.office_counters, name="office_counters"),
        path("kantor/<slug:code>/ubah/", organisation_views.office_edit, name="office_edit"),
        path("tarif/", tariff_views.manage, name="tariffs"),
        path("kunci-keamanan/", security_keys.security_keys, name="security_keys"),
        path("identitas/klaim/", identity_views.settle_claim, name="identity_claims"),
        path("kantor/<slug:code>/jadwal/", appointment_staff_views.calendar, name="office_calendar"),
        path("pembayaran/pengecualian/", payment_staff_views.exceptions, name="payment_exceptions"),
        path("pembayaran/pengecualian/<int:pk>/", payment_staff_views.exception_detail, name="payment_exception"),
        path("pembayaran/rekonsiliasi/", payment_staff_views.statements, name="statements"),
        path("pembayaran/rekonsiliasi/<int:pk>/", payment_staff_views.statement_detail, name="statement"),
        path("permohonan/", application_staff_views.lookup, name="applications"),
        path("permohonan/<str:reference>/", application_staff_views.detail, name="application"),
        path(
            "permohonan/<str:reference>/dokumen/<int:document_id>/",
            application_staff_views.document,
            name="application_document",
        ),
        path("kantor/<slug:code>/antrean/", visit_staff_views.queue, name="office_queue"),
        path("kantor/<slug:code>/kedatangan/", visit_staff_views.check_in, name="check_in"),
        path("kantor/<slug:code>/kedatangan/tanpa-janji/", visit_staff_views.walk_in, name="walk_in"),
        path("kunjungan/<int:pk>/tiket/", visit_staff_views.ticket, name="visit_ticket"),
        path("kunjungan/<int:pk>/foto/<str:which>/", visit_staff_views.photo, name="visit_photo"),
        path("loket/<int:pk>/antrean/", visit_staff_views.counter, name="counter"),
        path("loket/<int:pk>/antrean/aksi/", visit_staff_views.counter_act, name="counter_act"),
        *duty_urls.staff_urlpatterns,
        *visa_urls.staff_urlpatterns,
        *supervision_urls.staff_urlpatterns,
        path("kasus/", casework_views.worklist, name="worklist"),
        path("kasus/<str:reference>/", casework_views.case, name="case"),
        path("kasus/<str:reference>/alihkan/", casework_views.reassign, name="case_reassign"),
        path("kantor/<slug:code>/kasus/", casework_views.office_cases, name="office_cases"),
        path("konflik-kepentingan/", casework_views.conflicts, name="conflicts"),
    ],
    "staff",
)

identity_patterns = (
    [
        path("verifikasi/", identity_views.verify, name="verify"),
        path("keluarga/perbarui/", identity_views.refresh_family, name="refresh_family"),
    ],
    "identity",
)

application_patterns = (
    [
        path("paspor/baru/", application_views.new, name="new"),
        path("<uuid:public_id>/", application_views.detail, name="detail"),
        path("<uuid:public_id>/langkah/<slug:step>/", application_views.step, name="step"),
        path("<uuid:public_id>/tarik/", application_views.withdraw, name="withdraw"),
        path("<uuid:public_id>/versi/<int:number>/", application_views.version, name="version"),
        path("<uuid:public_id>/dokumen/<int:document_id>/", application_views.document, name="document"),
        path("<uuid:public_id>/kuitansi/", payment_views.receipt, name="receipt"),
        path("<uuid:public_id>/kuitansi.pdf", payment_views.receipt_pdf, name="receipt_pdf"),
        path("<uuid:public_id>/cek-ntpn/", payment_views.ntpn_check, name="ntpn_check"),
        path("<uuid:public_id>/undian/<int:release_id>/", appointment_views.request_lottery, name="request_lottery"),
        path("<uuid:public_id>/jadwal/<int:slot_id>/", appointment_views.book, name="book_slot"),
        path("<uuid:public_id>/jadwal/batal/", appointment_views.cancel, name="cancel_booking"),
        path("<uuid:public_id>/jadwal/pindah/<int:slot_id>/", appointment_views.reschedule, name="reschedule_booking"),
        *channel_urls.application_urlpatterns,
        path("<uuid:public_id>/banding/", casework_views.appeal, name="appeal"),
    ],
    "applications",
)

urlpatterns = [
    path("", include(public_patterns)),
    path("akun/", include(account_patterns)),
    path("staf/", include(staff_patterns)),
    path("akun/identitas/", include(identity_patterns)),
    path("permohonan/", include(application_patterns)),
    path("visa/", include((visa_urls.applicant_urlpatterns, "visas"))),
    path("webauthn/", include(security_keys.webauthn_urlpatterns)),  # staff-only, audited; before the library's
    path("webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/bank/v1/bills/<str:billing_code>", bank_api.bill_inquiry, name="bank_bill_inquiry"),
    path("api/bank/v1/notifications", bank_api.notification, name="bank_notification"),
    path("api/border/v1/movements", border_api.movements, name="border_movements"),
    path("api/v1/", api.urls),
    path("metrics", core_views.metrics, name="metrics"),
]
