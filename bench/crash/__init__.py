"""Helpers of bench/crash_loop.py: SIGKILL mailferry at random moments, check the target."""
