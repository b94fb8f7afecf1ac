//! `synod-zkml`: Layer 1 of the paper. A quantized model IR with a content
//! hash (the model id), a deterministic integer interpreter that records an
//! execution trace (for optimistic disputes), and halo2 proofs that
//! `output = model(input)` (for zk verification).

pub mod circuit;
pub mod interp;
pub mod ir;
pub mod trace;
