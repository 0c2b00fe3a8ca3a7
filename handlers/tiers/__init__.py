"""The half-yearly tier review (docs/programme.md): `review` grades every customer into
proposals, `decisions` lets supervisors approve or reject them and applies them, `worker`
runs both on their schedule."""
