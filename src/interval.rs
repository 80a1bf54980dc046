//! An index of possibly overlapping address ranges, for "which ranges
//! contain this address" over hundreds of thousands of ranges (inline
//! instances of a kernel, blacklist entries).

/// Ranges `[start, end)` with a value each.
#[derive(Clone, Debug)]
pub struct IntervalIndex<T> {
    /// Sorted by start.
    ranges: Vec<(u64, u64, T)>,
    /// `max_end[i]`: the highest end among `ranges[..=i]`, so a query stops
    /// walking back as soon as nothing earlier can reach the address.
    max_end: Vec<u64>,
}

impl<T> Default for IntervalIndex<T> {
    fn default() -> Self {
        IntervalIndex {
            ranges: Vec::new(),
            max_end: Vec::new(),
        }
    }
}

impl<T> IntervalIndex<T> {
    /// Index these ranges (empty ranges are dropped).
    pub fn new(mut ranges: Vec<(u64, u64, T)>) -> IntervalIndex<T>
    where
        T: Send,
    {
        use rayon::slice::ParallelSliceMut;
        ranges.retain(|r| r.0 < r.1);
        ranges.par_sort_by_key(|r| (r.0, r.1));
        let mut high = 0;
        let max_end = ranges
            .iter()
            .map(|r| {
                high = high.max(r.1);
                high
            })
            .collect();
        IntervalIndex { ranges, max_end }
    }

    /// The values of every range that contains `addr`.
    pub fn query(&self, addr: u64) -> impl Iterator<Item = &T> {
        let upto = self.ranges.partition_point(|r| r.0 <= addr);
        (0..upto)
            .rev()
            .take_while(move |&i| self.max_end[i] > addr)
            .filter(move |&i| addr < self.ranges[i].1)
            .map(move |i| &self.ranges[i].2)
    }

    /// Every range, sorted by start.
    pub fn iter(&self) -> impl Iterator<Item = &(u64, u64, T)> {
        self.ranges.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_ranges() {
        let index = IntervalIndex::new(vec![
            (0, 100, 'a'),
            (10, 20, 'b'),
            (15, 16, 'c'),
            (30, 40, 'd'),
            (5, 5, 'e'),
        ]);
        let at = |x| {
            let mut v: Vec<char> = index.query(x).copied().collect();
            v.sort();
            v
        };
        assert_eq!(at(15), ['a', 'b', 'c']);
        assert_eq!(at(20), ['a']);
        assert_eq!(at(35), ['a', 'd']);
        assert_eq!(at(100), Vec::<char>::new());
        assert_eq!(at(5), ['a']);
    }
}
