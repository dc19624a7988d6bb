"""The turn's stream log: the AI SDK chunks a turn emits, appended in order with NOTIFY, tailed by any number of
viewers, and assembled into the UIMessage that is persisted. Imported by `api/` and `activities/`; imports only
`models/`. Workflows never touch it: no token enters workflow history."""
