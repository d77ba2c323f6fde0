"""The channel-neutral conversation: menus, the report, question and status flows, and
subscriptions, as plain rules over abstract events and replies.

Telegram is one adapter of it (`bot/`); Zalo will be another (SPEC 8). Nothing here knows
a channel's wire format, and nothing here stores who a person is: a chat is known by a
keyed hash of its id, and its raw address only reaches the encrypted chat directory.
"""
