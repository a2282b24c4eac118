//! Counters kept in the append batch: a [`Tally`] (how many, and a sum such
//! as bytes) and a set of members (for distinct counts, for example the
//! customers behind a count of downloads).
//!
//! Stored as 16 bytes of tally (two little-endian u64), then each member
//! as a big-endian u16 length and its bytes, in ascending order without
//! repeats. A leaf's add is a counter of the same form with at most one
//! member; RocksDB's associative merge combines adds and stored values by
//! [`merge`]: tallies are summed, member sets united. A plain 16-byte
//! value is a counter without members.

use std::collections::BTreeSet;

/// A counter's tally: how many, and a sum (for example bytes).
pub type Tally = [u64; 2];

/// What one leaf adds to one counter, or a counter read back.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Counter {
    /// How many, and a sum.
    pub tally: Tally,
    /// The members, each at most `u16::MAX` bytes (longer ones are cut).
    pub members: BTreeSet<Vec<u8>>,
}

impl Counter {
    /// An add of `tally` naming `member`, if any.
    pub fn add(tally: Tally, member: Option<&[u8]>) -> Self {
        Self {
            tally,
            members: member.map(|m| m.to_vec()).into_iter().collect(),
        }
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut b =
            Vec::with_capacity(16 + self.members.iter().map(|m| 2 + m.len()).sum::<usize>());
        b.extend_from_slice(&self.tally[0].to_le_bytes());
        b.extend_from_slice(&self.tally[1].to_le_bytes());
        for m in &self.members {
            push_member(&mut b, m);
        }
        b
    }

    /// Folds another add in (an append batch sums its leaves' adds to one
    /// counter before its one merge): sums the tallies, unites the members.
    pub fn add_all(&mut self, other: Counter) {
        self.add_tally(other.tally);
        self.members.extend(other.members);
    }

    fn add_tally(&mut self, t: Tally) {
        self.tally = [
            self.tally[0].wrapping_add(t[0]),
            self.tally[1].wrapping_add(t[1]),
        ];
    }

    /// Folds `other` in: sums the tallies (wrapping never happens in
    /// practice: 2^64 downloads), unites the members.
    pub fn absorb(&mut self, other: &CounterRef<'_>) {
        self.add_tally(other.tally);
        for m in other.members() {
            if !self.members.contains(m) {
                self.members.insert(m.to_vec());
            }
        }
    }
}

fn push_member(b: &mut Vec<u8>, m: &[u8]) {
    let m = &m[..m.len().min(usize::from(u16::MAX))];
    b.extend_from_slice(&(m.len() as u16).to_be_bytes());
    b.extend_from_slice(m);
}

/// A stored counter, read without copying its members.
#[derive(Clone, Copy, Debug)]
pub struct CounterRef<'a> {
    /// How many, and a sum.
    pub tally: Tally,
    members: &'a [u8],
}

impl<'a> CounterRef<'a> {
    /// Reads a stored value. A value shorter than a tally counts as zero,
    /// and a member cut short ends the members (no writer stores either).
    pub fn decode(b: &'a [u8]) -> Self {
        let Some((t, members)) = b.split_first_chunk::<16>() else {
            return Self {
                tally: [0, 0],
                members: &[],
            };
        };
        let (n, sum) = t.split_at(8);
        Self {
            tally: [
                u64::from_le_bytes(n.try_into().expect("8 bytes")),
                u64::from_le_bytes(sum.try_into().expect("8 bytes")),
            ],
            members,
        }
    }

    /// The members, in ascending order.
    pub fn members(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut rest = self.members;
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<2>()?;
            let n = usize::from(u16::from_be_bytes(*len));
            let m = tail.get(..n)?;
            rest = &tail[n..];
            Some(m)
        })
    }

    /// An owned copy.
    pub fn to_counter(&self) -> Counter {
        let mut c = Counter::default();
        c.absorb(self);
        c
    }
}

/// The `counters` column family's associative merge: `existing` (if any)
/// and every operand folded into one counter. The largest member list is
/// merged in order with the others' (sorted), so a large stored set costs
/// one pass, not a tree of copies.
pub fn merge<'a>(existing: Option<&'a [u8]>, operands: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut tally: Tally = [0, 0];
    let mut sets: Vec<CounterRef<'a>> = Vec::new();
    for v in existing.into_iter().chain(operands) {
        let c = CounterRef::decode(v);
        tally = [
            tally[0].wrapping_add(c.tally[0]),
            tally[1].wrapping_add(c.tally[1]),
        ];
        if !c.members.is_empty() {
            sets.push(c);
        }
    }
    let mut out = Vec::with_capacity(16 + sets.iter().map(|s| s.members.len()).sum::<usize>());
    out.extend_from_slice(&tally[0].to_le_bytes());
    out.extend_from_slice(&tally[1].to_le_bytes());
    // The largest set stays as it is stored (sorted); the others' members
    // (usually one per add) are sorted and merged into it in one pass.
    if let Some(big) = (0..sets.len()).max_by_key(|&i| sets[i].members.len()) {
        let mut small: Vec<&[u8]> = sets
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != big)
            .flat_map(|(_, s)| s.members())
            .collect();
        small.sort_unstable();
        small.dedup();
        if small.is_empty() {
            out.extend_from_slice(sets[big].members);
        } else {
            let mut a = sets[big].members().peekable();
            let mut b = small.into_iter().peekable();
            loop {
                let next = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) if x < y => a.next(),
                    (Some(x), Some(y)) if x > y => b.next(),
                    (Some(_), Some(_)) => {
                        b.next();
                        a.next()
                    }
                    (Some(_), None) => a.next(),
                    (None, Some(_)) => b.next(),
                    (None, None) => break,
                };
                push_member(&mut out, next.expect("peeked"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_plain_tally_is_a_counter_without_members() {
        let mut b = Vec::new();
        b.extend_from_slice(&3u64.to_le_bytes());
        b.extend_from_slice(&99u64.to_le_bytes());
        let c = CounterRef::decode(&b);
        assert_eq!(c.tally, [3, 99]);
        assert_eq!(c.members().count(), 0);
        assert_eq!(CounterRef::decode(b"short").tally, [0, 0]);
        // A member cut short ends the members.
        let mut cut = Counter::add([1, 0], Some(b"abc")).encode();
        cut.extend_from_slice(&[0, 9, b'x']);
        assert_eq!(
            CounterRef::decode(&cut).members().collect::<Vec<_>>(),
            vec![b"abc".as_slice()]
        );
    }

    proptest! {
        /// Merging adds in any grouping gives the sums and the union a
        /// naive fold gives.
        #[test]
        fn merge_is_a_naive_fold(
            adds in proptest::collection::vec((0u64..5, 0u64..1000, proptest::option::of("[a-d]{0,3}")), 0..40),
            split in 0usize..40,
        ) {
            let mut want = Counter::default();
            for (n, b, m) in &adds {
                want.tally[0] += n;
                want.tally[1] += b;
                if let Some(m) = m {
                    want.members.insert(m.as_bytes().to_vec());
                }
            }
            let enc: Vec<Vec<u8>> = adds
                .iter()
                .map(|(n, b, m)| Counter::add([*n, *b], m.as_deref().map(str::as_bytes)).encode())
                .collect();
            let split = split.min(enc.len());
            // A partial merge of the first operands, then a full merge of
            // that with the rest, as RocksDB may do.
            let partial = merge(None, enc[..split].iter().map(Vec::as_slice));
            let full = merge(Some(&partial), enc[split..].iter().map(Vec::as_slice));
            prop_assert_eq!(CounterRef::decode(&full).to_counter(), want.clone());
            prop_assert_eq!(full, want.encode());
        }
    }
}
