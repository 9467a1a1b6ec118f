from django.apps import AppConfig


class VisasConfig(AppConfig):
    name = "gerbang.visas"
    label = "visas"
    verbose_name = "Visas and stay permits: foreigners, sponsors, the catalogue, border movements, permits, fines"
