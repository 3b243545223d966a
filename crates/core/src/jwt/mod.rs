//! JWT inspection engine.
