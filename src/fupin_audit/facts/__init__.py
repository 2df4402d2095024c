"""Facts about the data that rules and indicators share, each computed once per run.

A fact is a function of the rule context (`AuditContext`) that caches its result with `ctx.cached`:
household codes, person keys, places, household sizes, exit years, policy values per row, deaths,
measures of the data year, monitoring status. Rules and the run-summary indicators read the same facts,
so an indicator never re-decides what a rule decided. Facts never import rule packs.
"""
