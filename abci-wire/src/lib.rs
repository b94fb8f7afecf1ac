//! The framing of CometBFT's ABCI socket protocol: every message is a
//! protobuf `Request` or `Response` preceded by its length as an unsigned
//! varint (protobuf's base-128 encoding, at most 10 bytes). CometBFT's own
//! `abci/client/socket_client.go` and tower-abci's codec frame the same way.
//!
//! One implementation for every client in the workspace: the node's async
//! ABCI connections and the test kit's blocking client both write with
//! [`encode`] and read a length with [`LengthPrefix`], one byte at a time
//! from whatever stream they hold, then the body.

use prost::Message;

/// The CheckTx `info` a Synod app sets when it refuses a tx for its bytes
/// alone (undecodable, too large, for another chain, badly signed, a body
/// that fails its stateless checks): no state can ever make it valid, so a
/// node penalizes the peer that relayed it (gossip peer scoring). Any other
/// refusal (a nonce, a balance, a fee) may be a race between the peer's
/// check and ours, and costs the peer nothing.
pub const PERMANENT_REJECTION: &str = "synod/permanent";

/// Longest varint prefix: ten 7-bit groups hold a `u64`.
pub const MAX_PREFIX_BYTES: usize = 10;

/// Why a frame cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("length prefix runs past {MAX_PREFIX_BYTES} bytes: not a varint")]
    PrefixTooLong,
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: u64, max: u64 },
}

/// `msg` framed for the socket: its length as a varint, then its bytes.
pub fn encode<M: Message>(msg: &M) -> Vec<u8> {
    let len = msg.encoded_len();
    let mut buf = Vec::with_capacity(len + MAX_PREFIX_BYTES);
    prost::encoding::encode_varint(len as u64, &mut buf);
    msg.encode_raw(&mut buf);
    buf
}

/// Reads a frame's length prefix a byte at a time, so any stream (blocking
/// or async) can feed it without reading past the prefix.
#[derive(Debug, Clone)]
pub struct LengthPrefix {
    len: u64,
    bytes: usize,
    max: u64,
}

impl LengthPrefix {
    /// A reader for one prefix whose length may not exceed `max` bytes.
    pub fn new(max: u64) -> LengthPrefix {
        LengthPrefix {
            len: 0,
            bytes: 0,
            max,
        }
    }

    /// Takes the next byte of the stream: `Ok(Some(len))` once the prefix is
    /// complete, `Ok(None)` while more bytes are needed.
    pub fn push(&mut self, byte: u8) -> Result<Option<usize>, FrameError> {
        if self.bytes == MAX_PREFIX_BYTES {
            return Err(FrameError::PrefixTooLong);
        }
        let group = u64::from(byte & 0x7f);
        let shift = 7 * self.bytes as u32;
        // The tenth group may only carry the top bit of a u64.
        if shift == 63 && group > 1 {
            return Err(FrameError::PrefixTooLong);
        }
        self.len |= group << shift;
        self.bytes += 1;
        if byte & 0x80 != 0 {
            return Ok(None);
        }
        if self.len > self.max {
            return Err(FrameError::TooLarge {
                len: self.len,
                max: self.max,
            });
        }
        usize::try_from(self.len)
            .map(Some)
            .map_err(|_| FrameError::TooLarge {
                len: self.len,
                max: self.max,
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn read_prefix(bytes: &[u8], max: u64) -> Result<(usize, usize), FrameError> {
        let mut prefix = LengthPrefix::new(max);
        for (i, b) in bytes.iter().enumerate() {
            if let Some(len) = prefix.push(*b)? {
                return Ok((len, i + 1));
            }
        }
        panic!("prefix never ended");
    }

    #[test]
    fn a_frame_is_the_varint_length_then_the_message() {
        // A protobuf `bytes` field 1 holding "abc": 0x0a 0x03 'a' 'b' 'c'.
        let msg = b"abc".to_vec();
        let framed = encode(&msg);
        assert_eq!(framed, vec![5, 0x0a, 3, b'a', b'b', b'c']);
        assert_eq!(read_prefix(&framed, 100).unwrap(), (5, 1));
    }

    #[test]
    fn a_length_over_the_limit_or_a_prefix_without_end_is_refused() {
        assert_eq!(
            read_prefix(&[0xac, 0x02], 299),
            Err(FrameError::TooLarge { len: 300, max: 299 })
        );
        assert_eq!(read_prefix(&[0xac, 0x02], 300).unwrap(), (300, 2));
        let endless = [0xff; 11];
        assert_eq!(
            read_prefix(&endless, u64::MAX),
            Err(FrameError::PrefixTooLong)
        );
        // Ten bytes whose last group overflows a u64.
        let mut overflow = [0xff; 10];
        overflow[9] = 0x02;
        assert_eq!(
            read_prefix(&overflow, u64::MAX),
            Err(FrameError::PrefixTooLong)
        );
    }

    proptest! {
        #[test]
        fn every_length_reads_back_as_prost_wrote_it(len in 0u64..u64::MAX) {
            let mut buf = Vec::new();
            prost::encoding::encode_varint(len, &mut buf);
            let (got, used) = read_prefix(&buf, u64::MAX).unwrap();
            prop_assert_eq!(got as u64, len);
            prop_assert_eq!(used, buf.len());
        }
    }
}
