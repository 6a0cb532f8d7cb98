//! Per-key rate limits (work in progress).
