"""Reports: occupancy, revenue, redemption rate, peak hours and store ranking, per day, week or month."""
