//! Seeded mutations of corpus inputs, as the classic mutation fuzzers make
//! them: bit flips, byte changes, inserts and deletes, copies within the
//! input, interesting integers (limits, varint markers) in both byte
//! orders, splices of two corpus inputs, truncation, and dictionary tokens.
//! The same seed and corpus give the same inputs.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Integers at the edges of every width, and bincode's varint markers.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    16,
    0x7f,
    0x80,
    0xfa,
    0xfb,
    0xfc,
    0xfd,
    0xfe,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 1,
];

/// Makes mutated inputs from a corpus.
#[derive(Debug)]
pub struct Mutator {
    rng: ChaCha8Rng,
    dictionary: &'static [&'static [u8]],
    max_len: usize,
}

impl Mutator {
    /// A mutator drawing from `seed`, splicing `dictionary` tokens in, and
    /// making inputs of at most `max_len` bytes.
    pub fn new(seed: u64, dictionary: &'static [&'static [u8]], max_len: usize) -> Mutator {
        Mutator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            dictionary,
            max_len: max_len.max(1),
        }
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.rng.next_u64() % n as u64) as usize
        }
    }

    /// A mutant of `parent`: one to eight stacked mutations, fewer more
    /// often. `corpus` provides the other half of splices.
    pub fn mutate(&mut self, parent: &[u8], corpus: &[&[u8]]) -> Vec<u8> {
        let mut out = parent.to_vec();
        let stacked = 1 + self.below(8).min(self.below(8));
        for _ in 0..stacked {
            self.mutate_once(&mut out, corpus);
        }
        out.truncate(self.max_len);
        out
    }

    fn mutate_once(&mut self, data: &mut Vec<u8>, corpus: &[&[u8]]) {
        match self.below(12) {
            0 => self.flip_bit(data),
            1 => self.set_byte(data),
            2 => self.add_to_byte(data),
            3 => self.insert_bytes(data),
            4 => self.delete_range(data),
            5 => self.copy_range(data),
            6 | 7 => self.interesting_integer(data),
            8 => self.splice(data, corpus),
            9 => self.truncate(data),
            _ => self.dictionary_token(data),
        }
    }

    fn flip_bit(&mut self, data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let i = self.below(data.len());
        data[i] ^= 1 << self.below(8);
    }

    fn set_byte(&mut self, data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let i = self.below(data.len());
        data[i] = self.rng.next_u32() as u8;
    }

    fn add_to_byte(&mut self, data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let i = self.below(data.len());
        let delta = 1 + self.below(16) as u8;
        data[i] = if self.below(2) == 0 {
            data[i].wrapping_add(delta)
        } else {
            data[i].wrapping_sub(delta)
        };
    }

    fn insert_bytes(&mut self, data: &mut Vec<u8>) {
        let at = self.below(data.len() + 1);
        let n = 1 + self.below(16);
        let byte = self.rng.next_u32() as u8;
        let repeated = self.below(2) == 0;
        let new: Vec<u8> = (0..n)
            .map(|_| {
                if repeated {
                    byte
                } else {
                    self.rng.next_u32() as u8
                }
            })
            .collect();
        data.splice(at..at, new);
    }

    fn delete_range(&mut self, data: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let at = self.below(data.len());
        let n = 1 + self.below((data.len() - at).min(64));
        data.drain(at..at + n);
    }

    fn copy_range(&mut self, data: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let from = self.below(data.len());
        let n = 1 + self.below((data.len() - from).min(256));
        let chunk = data[from..from + n].to_vec();
        let to = self.below(data.len() + 1);
        if self.below(2) == 0 {
            data.splice(to..to, chunk);
        } else {
            let end = (to + n).min(data.len());
            data.splice(to..end, chunk);
        }
    }

    fn interesting_integer(&mut self, data: &mut Vec<u8>) {
        let value = INTERESTING[self.below(INTERESTING.len())];
        let value = if self.below(4) == 0 {
            value.wrapping_neg()
        } else {
            value
        };
        let width = [1usize, 2, 4, 8][self.below(4)];
        // The value's low `width` bytes, little- or big-endian.
        let le = value.to_le_bytes();
        let be = value.to_be_bytes();
        let bytes = if self.below(2) == 0 {
            &le[..width]
        } else {
            &be[8 - width..]
        };
        if data.len() < width {
            data.extend_from_slice(bytes);
            return;
        }
        let at = self.below(data.len() - width + 1);
        data[at..at + width].copy_from_slice(bytes);
    }

    fn splice(&mut self, data: &mut Vec<u8>, corpus: &[&[u8]]) {
        if corpus.is_empty() {
            return;
        }
        let other = corpus[self.below(corpus.len())];
        let keep = self.below(data.len() + 1);
        let from = self.below(other.len() + 1);
        data.truncate(keep);
        data.extend_from_slice(&other[from..]);
    }

    fn truncate(&mut self, data: &mut Vec<u8>) {
        let len = self.below(data.len() + 1);
        data.truncate(len);
    }

    fn dictionary_token(&mut self, data: &mut Vec<u8>) {
        if self.dictionary.is_empty() {
            self.interesting_integer(data);
            return;
        }
        let token = self.dictionary[self.below(self.dictionary.len())];
        let at = self.below(data.len() + 1);
        if self.below(2) == 0 {
            data.splice(at..at, token.iter().copied());
        } else {
            let end = (at + token.len()).min(data.len());
            data.splice(at..end, token.iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_mutants() {
        let corpus: &[&[u8]] = &[b"hello world", b"{\"a\": 1}"];
        let run = |seed| {
            let mut m = Mutator::new(seed, &[b"null"], 64);
            (0..100)
                .map(|i| m.mutate(corpus[i % 2], corpus))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn mutants_respect_the_length_limit_and_change_their_parent() {
        let mut m = Mutator::new(1, &[], 16);
        let parent = [0u8; 16];
        let mut changed = 0;
        for _ in 0..1000 {
            let child = m.mutate(&parent, &[&parent]);
            assert!(child.len() <= 16);
            changed += usize::from(child != parent);
        }
        assert!(changed > 900, "only {changed} of 1000 mutants differ");
    }
}
