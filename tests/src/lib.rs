//! End-to-end test harness for Warren (see `tests/tests/`).
