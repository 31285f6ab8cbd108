"""Small helpers every layer may use: stage timings, progress bars, CPU threads, batching."""
