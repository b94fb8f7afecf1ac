//! Content-addressed payloads (step inputs, outputs, proofs): a store on
//! disk named by SHA-256, and the request-response codec that fetches them
//! from peers. A request is the 32-byte hash; an answer is "absent" or the
//! bytes, at most [`MAX_PAYLOAD_BYTES`]. The fetcher checks the hash of what
//! arrives (in the network loop); the codec only bounds sizes.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use sha2::{Digest, Sha256};

/// Largest payload served or accepted (bytes).
pub const MAX_PAYLOAD_BYTES: usize = 8 << 20;
/// The request-response protocol name.
pub const PROTOCOL: &str = "/synod/payload/1";

/// SHA-256 of `bytes`: a payload's name.
pub fn hash_of(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Payloads on disk, one file per payload named by its hex hash.
#[derive(Clone, Debug)]
pub struct PayloadStore {
    dir: PathBuf,
}

impl PayloadStore {
    /// The store in `dir` (created).
    pub fn open(dir: &Path) -> io::Result<PayloadStore> {
        std::fs::create_dir_all(dir)?;
        Ok(PayloadStore {
            dir: dir.to_path_buf(),
        })
    }

    /// Stores `bytes` (refused above [`MAX_PAYLOAD_BYTES`]); returns its hash.
    pub fn put(&self, bytes: &[u8]) -> io::Result<[u8; 32]> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(io::Error::other(format!(
                "a payload of {} bytes is over the {MAX_PAYLOAD_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let hash = hash_of(bytes);
        let path = self.dir.join(hex::encode(hash));
        if !path.exists() {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)?;
        }
        Ok(hash)
    }

    /// The payload named `hash`, if held (and still matching its name).
    pub fn get(&self, hash: &[u8; 32]) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.dir.join(hex::encode(hash))) {
            Ok(bytes) if hash_of(&bytes) == *hash => Ok(Some(bytes)),
            Ok(_) => Err(io::Error::other(format!(
                "the stored payload {} does not match its hash",
                hex::encode(hash)
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The codec of [`PROTOCOL`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PayloadCodec;

#[async_trait]
impl libp2p::request_response::Codec for PayloadCodec {
    type Protocol = libp2p::StreamProtocol;
    type Request = [u8; 32];
    type Response = Option<Vec<u8>>;

    async fn read_request<T>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<[u8; 32]>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut hash = [0u8; 32];
        io.read_exact(&mut hash).await?;
        Ok(hash)
    }

    async fn read_response<T>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
    ) -> io::Result<Option<Vec<u8>>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut tag = [0u8; 1];
        io.read_exact(&mut tag).await?;
        match tag[0] {
            0 => Ok(None),
            1 => {
                let mut len = [0u8; 4];
                io.read_exact(&mut len).await?;
                let len = u32::from_be_bytes(len) as usize;
                if len > MAX_PAYLOAD_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "a payload of {len} bytes is over the {MAX_PAYLOAD_BYTES}-byte limit"
                        ),
                    ));
                }
                let mut bytes = vec![0u8; len];
                io.read_exact(&mut bytes).await?;
                Ok(Some(bytes))
            }
            t => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown answer tag {t}"),
            )),
        }
    }

    async fn write_request<T>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        hash: [u8; 32],
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&hash).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        answer: Option<Vec<u8>>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match answer {
            None => io.write_all(&[0]).await?,
            Some(bytes) => {
                let len = u32::try_from(bytes.len())
                    .ok()
                    .filter(|&l| l as usize <= MAX_PAYLOAD_BYTES)
                    .ok_or_else(|| io::Error::other("payload too large to send"))?;
                io.write_all(&[1]).await?;
                io.write_all(&len.to_be_bytes()).await?;
                io.write_all(&bytes).await?;
            }
        }
        io.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::request_response::Codec as _;

    #[test]
    fn the_store_names_payloads_by_hash_and_refuses_a_changed_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = PayloadStore::open(dir.path()).expect("opens");
        let h = store.put(b"proof bytes").expect("puts");
        assert_eq!(h, hash_of(b"proof bytes"));
        assert_eq!(store.get(&h).expect("reads"), Some(b"proof bytes".to_vec()));
        assert_eq!(store.get(&[0; 32]).expect("reads"), None);
        std::fs::write(dir.path().join(hex::encode(h)), b"proof bytez").expect("tamper");
        assert!(store.get(&h).is_err());
        assert!(store.put(&vec![0; MAX_PAYLOAD_BYTES + 1]).is_err());
    }

    #[test]
    fn the_codec_round_trips_and_bounds_lengths() {
        futures::executor::block_on(async {
            let p = libp2p::StreamProtocol::new(PROTOCOL);
            let mut c = PayloadCodec;
            let mut buf = Vec::new();
            c.write_response(
                &p,
                &mut futures::io::Cursor::new(&mut buf),
                Some(vec![1, 2, 3]),
            )
            .await
            .expect("writes");
            let got = c
                .read_response(&p, &mut futures::io::Cursor::new(&buf))
                .await
                .expect("reads");
            assert_eq!(got, Some(vec![1, 2, 3]));
            // A length over the limit is refused before anything is allocated.
            let mut big = vec![1u8];
            big.extend_from_slice(&(MAX_PAYLOAD_BYTES as u32 + 1).to_be_bytes());
            let e = c
                .read_response(&p, &mut futures::io::Cursor::new(&big))
                .await
                .expect_err("too large");
            assert!(e.to_string().contains("limit"), "{e}");
            let e = c
                .read_response(&p, &mut futures::io::Cursor::new(&[9u8]))
                .await
                .expect_err("bad tag");
            assert!(e.to_string().contains("tag"), "{e}");
            // A request shorter than a hash is an error.
            assert!(c
                .read_request(&p, &mut futures::io::Cursor::new(&[1u8; 31]))
                .await
                .is_err());
        });
    }
}
