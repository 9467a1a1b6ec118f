"""URL patterns of the official channel, included by config/urls.py in the namespaces named below."""

from __future__ import annotations

from django.urls import path

from . import views

# In the "applications" namespace, under /permohonan/.
application_urlpatterns = [
    path("<uuid:public_id>/pesan/", views.messages_page, name="messages"),
]

# In the "accounts" namespace, under /akun/.
account_urlpatterns = [
    path("cek-pesan/", views.check_message, name="check_message"),
]
