"""Tokens, rate limits and usage accounting of the gateway, and the usage dashboard.

A request's path through it: `admission` reads the caller's token (`tokens`, cached by
`token_cache`) and applies its limits (`limits`); `meter` measures the request and its answer and
hands one `records.UsageRecord` to the `recorder`, whose writer thread stores batches of them with
their daily roll-ups (`storage`, over the tables of `schema`, migrated by `migrate`). `queries`
reads the roll-ups back for `GET /usage` and the dashboard (`dashboard`, `charts`, `routes`);
`sessions` keeps a browser logged in. `service.UsageService` holds them together for the app.
"""
