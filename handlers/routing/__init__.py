"""Call routing, one concept per module: the pure rule engine (`rules`), routing a new call
and logging it (`route`), answering within the time budget (`budget`), the call's progress
afterwards (`calls`), the post-call survey (`post_call_survey`) and what routing announces
on the event bus (`publish`)."""
