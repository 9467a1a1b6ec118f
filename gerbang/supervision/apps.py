from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "gerbang.supervision"
    label = "supervision"
    verbose_name = "Supervision: dashboards, integrity signals, whistleblowing, visit feedback, transparency"
