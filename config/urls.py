from django.urls import include, path
from django.views.i18n import set_language

from config.api import api
from gerbang.accounts import password_reset, security_keys, staff_views
from gerbang.accounts import views as account_views
from gerbang.core import views as core_views
from gerbang.organisation import views as organisation_views
from gerbang.public import views as public_views
from gerbang.tariffs import views as tariff_views

public_patterns = (
    [
        path("", public_views.home, name="home"),
        path("tarif/", public_views.tariffs, name="tariffs"),
        path("kanal-resmi/", public_views.official_channels, name="official_channels"),
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
    ],
    "staff",
)

urlpatterns = [
    path("", include(public_patterns)),
    path("akun/", include(account_patterns)),
    path("staf/", include(staff_patterns)),
    path("webauthn/", include(security_keys.webauthn_urlpatterns)),  # staff-only, audited; before the library's
    path("webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", api.urls),
    path("metrics", core_views.metrics, name="metrics"),
]
