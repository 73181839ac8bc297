"""Reading feedback back: lists, run detail, summaries with Wilson intervals, erasure."""
