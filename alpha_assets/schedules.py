"""``daily_mining_schedule``: each day, the day's themes; the chain sensor then mines and submits."""

import dagster as dg

from alpha_assets.jobs import themes_job


@dg.schedule(cron_schedule="0 6 * * *", job=themes_job, execution_timezone="UTC",
             description="06:00 UTC: pick the day's themes (daily_chain_sensor then requests the (date, field) "
                         "mining runs and the day's submissions).")
def daily_mining_schedule(context: dg.ScheduleEvaluationContext):
    date = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"themes:{date}", partition_key=date, tags={"alpha/trigger": "schedule"})
