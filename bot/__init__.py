"""Telegram adapter (python-telegram-bot 22): a thin channel over the same core services.

Built in the Telegram issue; the web intake and the JSON API are the channels today.
"""
