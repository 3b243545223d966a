//! Sealpost WASM bindings (see crates/wasm).
