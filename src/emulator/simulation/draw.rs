//! Deterministic random draws: every draw gets its own generator, keyed by the seed and what is
//! being drawn, so results never depend on the order in which things are evaluated.

/// A generator for one draw, keyed by `seed`, a label and numbers (datapoint, vote, ...).
pub(crate) fn rng(seed: u64, label: &str, scope: &str, nums: &[u64]) -> fastrand::Rng {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(label.as_bytes());
    h.update(&[0]);
    h.update(scope.as_bytes());
    h.update(&[0]);
    for n in nums {
        h.update(&n.to_le_bytes());
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.finalize().as_bytes()[..8]);
    fastrand::Rng::with_seed(u64::from_le_bytes(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_draws_other_key_other_draws() {
        let a: Vec<u64> = (0..4).map(|_| rng(1, "x", "j", &[2]).u64(..)).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            rng(1, "x", "j", &[2]).u64(..),
            rng(1, "x", "j", &[3]).u64(..)
        );
        assert_ne!(
            rng(1, "x", "j", &[2]).u64(..),
            rng(2, "x", "j", &[2]).u64(..)
        );
    }
}
