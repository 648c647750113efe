"""End-to-end pipeline benchmark: `profiles.submitted` -> proposal email at the SMTP sink, on the embedded stack.

    python -m benchmarks.pipeline [--rates 5 20 50 100] [--duration 30] [--import-size 10000] [--smoke]
"""
