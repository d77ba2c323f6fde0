"""One module per conversation flow; `core.chat.engine` routes between them."""
