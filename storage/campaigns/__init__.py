"""Campaign repository, one concept per module. Nothing here commits: the use cases in
handlers/campaigns/ own their transactions. Everything returned is a frozen copy.

- views: CampaignView, ClaimedTarget, TargetView; reading one campaign or target
- definitions: inserting and listing campaigns, counting and sampling their audience
- lifecycle: a supervisor's moves, the sweep of dead workers' leases, finishing campaigns
- expansion: writing the audience into targets under a lease
- dispatch: the send rate, claims (SKIP LOCKED on PostgreSQL), the send-time rules, outcomes
- progress: counts by outcome, the recent rate, survey answers
- conversions: cross-sell offers accepted
"""
