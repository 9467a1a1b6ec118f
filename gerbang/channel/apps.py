from django.apps import AppConfig


class ChannelConfig(AppConfig):
    name = "gerbang.channel"
    label = "channel"
    verbose_name = "The official channel: messages between applicants and offices, notifications"
