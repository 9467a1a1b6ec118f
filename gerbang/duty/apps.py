from django.apps import AppConfig


class DutyConfig(AppConfig):
    name = "gerbang.duty"
    label = "duty"
    verbose_name = "Duty: rosters, device lockers, counter sessions and spot checks"
