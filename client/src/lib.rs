//! `synod-client`: the chain client library (see the crate README in docs).
