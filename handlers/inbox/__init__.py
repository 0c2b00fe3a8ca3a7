"""The chat inbox, one concept per module: handing a customer to a person and offering the
waiting line to agents as they free up (`routing`), the messages both ways and the delivery
of replies (`messages`), reading, transferring and closing (`lifecycle`), and what the inbox
announces on the event bus (`publish`). See docs/inbox.md."""
