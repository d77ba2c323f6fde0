"""The chat channel layer shared by every adapter (Telegram in bot/, Zalo in
channels/zalo/): webhook checks, per-chat ordering, reply splitting, reply notices."""
