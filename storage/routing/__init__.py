"""What routing reads and writes, one concept per module: caller facts (`callers`), queues
and who waits in them (`queues`), agent presence and claims (`presence`), the contact log
(`contact_log`). None of them commits: the use case in handlers/routing/ does."""
