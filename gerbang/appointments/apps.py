from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "gerbang.appointments"
    verbose_name = "Appointments"
