from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "gerbang.visits"
    label = "visits"
    verbose_name = "Visits: check-in and the queue"
