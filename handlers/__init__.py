"""Channel-neutral use cases: plain values in, plain values out.

Nothing here imports aiohttp or aiogram (see DESIGN.md)."""
