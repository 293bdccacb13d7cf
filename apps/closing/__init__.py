"""Month close: finance freezes a month's figures; later changes reach it only when reopened on record."""
