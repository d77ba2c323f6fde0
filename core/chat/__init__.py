"""The channel-neutral conversation: menus, the report, question and status flows, and
subscriptions, as plain rules over abstract events and replies.

Telegram (`bot/`) and Zalo (`channels/zalo/`) are its adapters. Nothing here knows
a channel's wire format, and nothing here stores who a person is: a chat is known by a
keyed hash of its id, and its raw address only reaches the encrypted chat directory.
"""
