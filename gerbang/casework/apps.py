from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "gerbang.casework"
    label = "casework"
    verbose_name = "Casework: assignment, verification, biometrics, interview, decision, printing, handover"
